package saml

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
)

const nsMetadata = "urn:oasis:names:tc:SAML:2.0:metadata"

// MaxMetadataSize bounds a metadata document (IAM: 10000000).
const MaxMetadataSize = 10000000

// maxMetadataMarkup bounds the markup ('<') of a metadata document: large
// real ones (AD FS, with its WS-Federation role descriptors and claim
// types) have a few thousand.
const maxMetadataMarkup = 20000

// MaxMetadataKeys is how many signing certificates a provider may have.
const MaxMetadataKeys = 10

// Metadata is what OpenSTS reads of an identity provider's metadata.
type Metadata struct {
	EntityID     string
	Certificates []*x509.Certificate
}

// ParseMetadata reads an md:EntityDescriptor with an IDPSSODescriptor and
// its signing certificates (KeyDescriptors with use="signing" or no use).
func ParseMetadata(doc []byte) (*Metadata, error) {
	root, err := parse(doc, MaxMetadataSize, maxMetadataMarkup)
	if err != nil {
		return nil, errors.New("metadata is not well-formed XML")
	}
	ed := root
	if is(root, nsMetadata, "EntitiesDescriptor") {
		eds := children(root, nsMetadata, "EntityDescriptor")
		if len(eds) != 1 {
			return nil, errors.New("metadata must describe exactly one entity")
		}
		ed = eds[0]
	}
	if !is(ed, nsMetadata, "EntityDescriptor") {
		return nil, errors.New("metadata is not an EntityDescriptor")
	}
	m := &Metadata{EntityID: ed.SelectAttrValue("entityID", "")}
	if m.EntityID == "" {
		return nil, errors.New("metadata has no entityID")
	}
	idp := child(ed, nsMetadata, "IDPSSODescriptor")
	if idp == nil {
		return nil, errors.New("metadata has no IDPSSODescriptor")
	}
	for _, kd := range children(idp, nsMetadata, "KeyDescriptor") {
		if use := kd.SelectAttrValue("use", ""); use != "" && use != "signing" {
			continue
		}
		ki := child(kd, nsDSig, "KeyInfo")
		if ki == nil {
			continue
		}
		for _, xd := range children(ki, nsDSig, "X509Data") {
			for _, xc := range children(xd, nsDSig, "X509Certificate") {
				s, err := text(xc)
				if err != nil {
					return nil, errors.New("metadata has an invalid X509Certificate")
				}
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
				if err != nil {
					return nil, errors.New("metadata has an invalid X509Certificate")
				}
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return nil, errors.New("metadata has an invalid X509Certificate")
				}
				dup := false
				for _, have := range m.Certificates {
					dup = dup || have.Equal(c)
				}
				if !dup {
					m.Certificates = append(m.Certificates, c)
				}
			}
		}
	}
	if len(m.Certificates) == 0 {
		return nil, errors.New("metadata has no signing certificate")
	}
	if len(m.Certificates) > MaxMetadataKeys {
		return nil, errors.New("metadata has more than 10 signing certificates")
	}
	return m, nil
}
