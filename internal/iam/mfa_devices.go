package iam

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/mfa"
	"github.com/opensts/opensts/internal/store"
)

// Virtual MFA devices (RFC 6238 TOTP). A device's seed is generated here,
// returned once by CreateVirtualMFADevice and stored sealed with the serial
// number as additional data (mfa.SealSecret); no other response, log line or
// error carries it. The serial number is the device's ARN,
// arn:aws:iam::ACCOUNT:mfa/PATHNAME. STS verifies codes with mfa.Checker.

const (
	maxMFADevicesPerUser = 8
	// mfaIssuer is the issuer an authenticator app shows for the device.
	mfaIssuer = "OpenSTS"
	// enableWindow is how far (in 30-second steps) from the server's clock
	// the second of two consecutive codes may be for EnableMFADevice;
	// resyncWindow is the wider search of ResyncMFADevice, for a device
	// whose clock drifted.
	enableWindow = 2
	resyncWindow = 10
)

// VirtualMFADevice is the VirtualMFADevice shape. Base32StringSeed and
// QRCodePNG are blobs, base64 on the wire (the SDKs decode them): the seed's
// base32 text and the PNG image. Only CreateVirtualMFADevice fills them.
type VirtualMFADevice struct {
	SerialNumber     string     `xml:"SerialNumber"`
	Base32StringSeed string     `xml:"Base32StringSeed,omitempty" sensitive:"true"`
	QRCodePNG        string     `xml:"QRCodePNG,omitempty" sensitive:"true"`
	User             *User      `xml:"User,omitempty"`
	EnableDate       *time.Time `xml:"EnableDate,omitempty"`
	Tags             []Tag      `xml:"Tags>member,omitempty"`
}

// MFADevice is the MFADevice shape of ListMFADevices.
type MFADevice struct {
	UserName     string    `xml:"UserName,omitempty"`
	SerialNumber string    `xml:"SerialNumber"`
	EnableDate   time.Time `xml:"EnableDate"`
}

func noSuchMFADevice(serial string) error {
	return apierr.New(apierr.NoSuchEntity, "VirtualMFADevice with serial number %s doesn't exist.", serial)
}

func invalidAuthenticationCode() error {
	return apierr.New(apierr.InvalidAuthenticationCode, "Authentication code for device is not valid.")
}

// loadMFADevice fetches a device of account; found is false (nil error) when
// it does not exist or belongs to another account.
func (s *Service) loadMFADevice(ctx context.Context, account, serial string) (store.MFADevice, bool, error) {
	d, err := s.store.GetMFADevice(ctx, serial)
	if isNotFound(err) || (err == nil && d.Account != account) {
		return store.MFADevice{}, false, nil
	}
	if err != nil {
		return store.MFADevice{}, false, internal(err, "load mfa device")
	}
	return d, true, nil
}

// mfaOwner is the user (or root) whose MFA devices an action manages.
type mfaOwner struct {
	root bool
	name string // "" for root
	user store.User
}

func (o mfaOwner) owns(d store.MFADevice) bool {
	if d.EnabledAt.IsZero() {
		return false
	}
	if o.root {
		return d.UserName == ""
	}
	return d.UserName != "" && sameName(d.UserName, o.name)
}

// authMFAOwner resolves the UserName of an MFA action (empty: the caller)
// and authorizes action on the user's ARN (or the root's).
func (s *Service) authMFAOwner(ctx context.Context, c *authz.Caller, action, userName string) (mfaOwner, error) {
	if userName == "" {
		name, root, err := self(c)
		if err != nil {
			return mfaOwner{}, err
		}
		if root {
			if err := s.check(ctx, c, action, rootARN(c.Account)); err != nil {
				return mfaOwner{}, err
			}
			return mfaOwner{root: true}, nil
		}
		userName = name
	}
	e, err := s.authEntity(ctx, c, store.KindUser, action, userName)
	if err != nil {
		return mfaOwner{}, err
	}
	return mfaOwner{name: e.name, user: e.user}, nil
}

// ownedDevice loads a device that must be enabled for o; NoSuchEntity
// otherwise.
func (s *Service) ownedDevice(ctx context.Context, c *authz.Caller, o mfaOwner, serial string) (store.MFADevice, error) {
	d, found, err := s.loadMFADevice(ctx, c.Account, serial)
	if err != nil {
		return store.MFADevice{}, err
	}
	if !found || !o.owns(d) {
		return store.MFADevice{}, noSuchMFADevice(serial)
	}
	return d, nil
}

// CreateVirtualMFADeviceInput is the input of CreateVirtualMFADevice.
type CreateVirtualMFADeviceInput struct {
	VirtualMFADeviceName string `required:"true" min:"1" max:"226" pattern:"[\\w+=,.@-]+"`
	Path                 string `min:"1" max:"512" pattern:"(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"`
	Tags                 []Tag  `max:"50"`
}

// CreateVirtualMFADeviceOutput is the output of CreateVirtualMFADevice.
type CreateVirtualMFADeviceOutput struct {
	VirtualMFADevice VirtualMFADevice `xml:"VirtualMFADevice"`
}

// CreateVirtualMFADevice creates an unassigned virtual MFA device with a new
// random seed, and returns the seed and a QR code of its otpauth:// URI. This
// is the only time the seed leaves the server. Creating it with tags also
// needs iam:TagMFADevice.
func (s *Service) CreateVirtualMFADevice(ctx context.Context, c *authz.Caller, in *CreateVirtualMFADeviceInput) (*CreateVirtualMFADeviceOutput, error) {
	path, err := checkPath(in.Path, "path")
	if err != nil {
		return nil, err
	}
	if !validName(in.VirtualMFADeviceName, 226) {
		return nil, apierr.Validation(fmt.Sprintf(`Value '%s' at 'virtualMFADeviceName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`, in.VirtualMFADeviceName))
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	serial := mfaARN(c.Account, path, in.VirtualMFADeviceName)
	keys := requestTagKeys(in.Tags)
	if err := s.check(ctx, c, "iam:CreateVirtualMFADevice", serial, keys...); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		if err := s.check(ctx, c, "iam:TagMFADevice", serial, keys...); err != nil {
			return nil, err
		}
	}
	seed, err := mfa.NewSeed(s.rand)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	sealed, err := mfa.SealSecret(s.sealer, serial, mfa.Secret{Seed: seed})
	if err != nil {
		return nil, apierr.Internal(err)
	}
	qr, err := mfa.QRCodePNG(mfaIssuer, in.VirtualMFADeviceName+"@"+c.Account, seed)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	d := store.MFADevice{Account: c.Account, SerialNumber: serial, Name: in.VirtualMFADeviceName, Path: path, Seed: sealed,
		CreatedAt: s.time(), Tags: storeTags(in.Tags)}
	if err := s.store.CreateMFADevice(ctx, d); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "MFADevice entity at the same path and name already exists.")
		}
		return nil, internal(err, "create mfa device")
	}
	return &CreateVirtualMFADeviceOutput{VirtualMFADevice: VirtualMFADevice{
		SerialNumber:     serial,
		Base32StringSeed: base64.StdEncoding.EncodeToString([]byte(seed)),
		QRCodePNG:        base64.StdEncoding.EncodeToString(qr),
		Tags:             tagsOut(d.Tags),
	}}, nil
}

// EnableMFADeviceInput is the input of EnableMFADevice.
type EnableMFADeviceInput struct {
	UserName            string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	SerialNumber        string `required:"true" min:"9" max:"256" pattern:"[\\w+=/:,.@-]+"`
	AuthenticationCode1 string `required:"true" min:"6" max:"6" pattern:"[\\d]+" sensitive:"true"`
	AuthenticationCode2 string `required:"true" min:"6" max:"6" pattern:"[\\d]+" sensitive:"true"`
}

// EnableMFADeviceOutput is the (empty) output of EnableMFADevice.
type EnableMFADeviceOutput struct{}

// EnableMFADevice assigns a virtual MFA device to a user after two
// consecutive codes prove the user holds the seed. Both codes are consumed:
// the device's last used step becomes the second code's, so neither can be
// replayed to STS.
func (s *Service) EnableMFADevice(ctx context.Context, c *authz.Caller, in *EnableMFADeviceInput) (*EnableMFADeviceOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindUser, "iam:EnableMFADevice", in.UserName)
	if err != nil {
		return nil, err
	}
	d, found, err := s.loadMFADevice(ctx, c.Account, in.SerialNumber)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, noSuchMFADevice(in.SerialNumber)
	}
	if !d.EnabledAt.IsZero() {
		return nil, apierr.New(apierr.EntityAlreadyExists, "MFA Device is already in use.")
	}
	mine, err := s.store.ListUserMFADevices(ctx, c.Account, e.name)
	if err != nil {
		return nil, internal(err, "list mfa devices")
	}
	n := 0
	for _, o := range mine {
		if !o.EnabledAt.IsZero() {
			n++
		}
	}
	if n >= maxMFADevicesPerUser {
		return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for MFADevicesPerUser: %d", maxMFADevicesPerUser)
	}
	sec, err := mfa.OpenSecret(s.sealer, d.SerialNumber, d.Seed)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	now := s.now()
	counter, ok, err := mfa.ValidatePair(sec.Seed, in.AuthenticationCode1, in.AuthenticationCode2, now, sec.Drift, enableWindow)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	if !ok || counter <= d.LastCounter {
		return nil, invalidAuthenticationCode()
	}
	d.UserName, d.EnabledAt, d.LastCounter = e.name, s.time(), counter
	if err := s.store.UpdateMFADevice(ctx, d); err != nil {
		if isNotFound(err) {
			return nil, noSuchMFADevice(in.SerialNumber)
		}
		return nil, internal(err, "enable mfa device")
	}
	if s.mfaReset != nil {
		if err := s.mfaReset(ctx, d.SerialNumber); err != nil {
			return nil, internal(err, "enable mfa device: lift the lockout")
		}
	}
	return &EnableMFADeviceOutput{}, nil
}

// DeactivateMFADeviceInput is the input of DeactivateMFADevice.
type DeactivateMFADeviceInput struct {
	UserName     string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	SerialNumber string `required:"true" min:"9" max:"256" pattern:"[\\w+=/:,.@-]+"`
}

// DeactivateMFADeviceOutput is the (empty) output of DeactivateMFADevice.
type DeactivateMFADeviceOutput struct{}

// DeactivateMFADevice unassigns an MFA device from a user (without
// UserName: the caller). The device and its seed remain; its used steps stay
// used.
func (s *Service) DeactivateMFADevice(ctx context.Context, c *authz.Caller, in *DeactivateMFADeviceInput) (*DeactivateMFADeviceOutput, error) {
	o, err := s.authMFAOwner(ctx, c, "iam:DeactivateMFADevice", in.UserName)
	if err != nil {
		return nil, err
	}
	d, err := s.ownedDevice(ctx, c, o, in.SerialNumber)
	if err != nil {
		return nil, err
	}
	d.UserName, d.EnabledAt = "", time.Time{}
	if err := s.store.UpdateMFADevice(ctx, d); err != nil {
		if isNotFound(err) {
			return nil, noSuchMFADevice(in.SerialNumber)
		}
		return nil, internal(err, "deactivate mfa device")
	}
	return &DeactivateMFADeviceOutput{}, nil
}

// ResyncMFADeviceInput is the input of ResyncMFADevice.
type ResyncMFADeviceInput struct {
	UserName            string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	SerialNumber        string `required:"true" min:"9" max:"256" pattern:"[\\w+=/:,.@-]+"`
	AuthenticationCode1 string `required:"true" min:"6" max:"6" pattern:"[\\d]+" sensitive:"true"`
	AuthenticationCode2 string `required:"true" min:"6" max:"6" pattern:"[\\d]+" sensitive:"true"`
}

// ResyncMFADeviceOutput is the (empty) output of ResyncMFADevice.
type ResyncMFADeviceOutput struct{}

// ResyncMFADevice re-learns the clock drift of a user's device from two
// consecutive codes found within ±10 steps (5 minutes) of the drift known so
// far. STS then accepts codes ±1 step around the server's time plus the
// drift. The codes are consumed like those of EnableMFADevice.
func (s *Service) ResyncMFADevice(ctx context.Context, c *authz.Caller, in *ResyncMFADeviceInput) (*ResyncMFADeviceOutput, error) {
	o, err := s.authMFAOwner(ctx, c, "iam:ResyncMFADevice", in.UserName)
	if err != nil {
		return nil, err
	}
	d, err := s.ownedDevice(ctx, c, o, in.SerialNumber)
	if err != nil {
		return nil, err
	}
	sec, err := mfa.OpenSecret(s.sealer, d.SerialNumber, d.Seed)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	now := s.now()
	counter, ok, err := mfa.ValidatePair(sec.Seed, in.AuthenticationCode1, in.AuthenticationCode2, now, sec.Drift, resyncWindow)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	if !ok || counter <= d.LastCounter {
		return nil, invalidAuthenticationCode()
	}
	sec.Drift = counter - mfa.Step(now)
	seed, err := mfa.SealSecret(s.sealer, d.SerialNumber, sec)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	// Only the seed (the drift) and the counter, and only if the device is
	// still the one read: a whole-row write put back an assignment that a
	// DeactivateMFADevice made meanwhile had removed.
	if err := s.store.ResyncMFADevice(ctx, d, seed, counter); err != nil {
		switch {
		case isNotFound(err):
			return nil, noSuchMFADevice(in.SerialNumber)
		case errors.Is(err, store.ErrConflict):
			return nil, apierr.New(apierr.ConcurrentModification, "The MFA device %s changed while it was resynced; try again.", in.SerialNumber)
		}
		return nil, internal(err, "resync mfa device")
	}
	if s.mfaReset != nil {
		if err := s.mfaReset(ctx, d.SerialNumber); err != nil {
			return nil, internal(err, "resync mfa device: lift the lockout")
		}
	}
	return &ResyncMFADeviceOutput{}, nil
}

// ListMFADevicesInput is the input of ListMFADevices.
type ListMFADevicesInput struct {
	UserName string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems *int32 `min:"1" max:"1000"`
}

// ListMFADevicesOutput is the output of ListMFADevices.
type ListMFADevicesOutput struct {
	MFADevices []MFADevice `xml:"MFADevices>member"`
	Page
}

// ListMFADevices lists the MFA devices enabled for a user (without
// UserName: the caller, user or root).
func (s *Service) ListMFADevices(ctx context.Context, c *authz.Caller, in *ListMFADevicesInput) (*ListMFADevicesOutput, error) {
	o, err := s.authMFAOwner(ctx, c, "iam:ListMFADevices", in.UserName)
	if err != nil {
		return nil, err
	}
	// A user has at most maxMFADevicesPerUser devices, so the page is cut
	// from all of them.
	all, err := s.store.ListUserMFADevices(ctx, c.Account, o.name)
	if err != nil {
		return nil, internal(err, "list mfa devices")
	}
	var mine []store.MFADevice
	for _, d := range all {
		if o.owns(d) {
			mine = append(mine, d)
		}
	}
	page, p, err := paginate(mine, func(d store.MFADevice) string { return nameKey(d.SerialNumber) }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListMFADevicesOutput{MFADevices: make([]MFADevice, 0, len(page)), Page: p}
	for _, d := range page {
		out.MFADevices = append(out.MFADevices, MFADevice{UserName: o.name, SerialNumber: d.SerialNumber, EnableDate: d.EnabledAt.UTC()})
	}
	return out, nil
}

// Assignment statuses of ListVirtualMFADevices.
const (
	assignmentAssigned   = "Assigned"
	assignmentUnassigned = "Unassigned"
	assignmentAny        = "Any"
)

// ListVirtualMFADevicesInput is the input of ListVirtualMFADevices.
type ListVirtualMFADevicesInput struct {
	AssignmentStatus string `enum:"Assigned,Unassigned,Any"`
	Marker           string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems         *int32 `min:"1" max:"1000"`
}

// ListVirtualMFADevicesOutput is the output of ListVirtualMFADevices.
type ListVirtualMFADevicesOutput struct {
	VirtualMFADevices []VirtualMFADevice `xml:"VirtualMFADevices>member"`
	Page
}

// ListVirtualMFADevices lists the account's virtual MFA devices, assigned,
// unassigned or both (the default), without their seeds.
func (s *Service) ListVirtualMFADevices(ctx context.Context, c *authz.Caller, in *ListVirtualMFADevicesInput) (*ListVirtualMFADevicesOutput, error) {
	status := in.AssignmentStatus
	switch status {
	case "":
		status = assignmentAny
	case assignmentAssigned, assignmentUnassigned, assignmentAny:
	default:
		return nil, apierr.Validation(fmt.Sprintf("Value '%s' at 'assignmentStatus' failed to satisfy constraint: Member must satisfy enum value set: [Unassigned, Any, Assigned]", status))
	}
	if err := s.check(ctx, c, "iam:ListVirtualMFADevices", mfaARN(c.Account, "/", "")); err != nil {
		return nil, err
	}
	req, err := pageRequest(in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	assignment := map[string]store.MFAAssignment{assignmentAny: store.MFAAny, assignmentAssigned: store.MFAAssigned, assignmentUnassigned: store.MFAUnassigned}[status]
	devices, err := s.store.ListMFADevices(ctx, c.Account, assignment, req.options(""))
	if err != nil {
		return nil, internal(err, "list mfa devices")
	}
	page, p := cut(req, devices, func(d store.MFADevice) string { return nameKey(d.SerialNumber) })
	out := &ListVirtualMFADevicesOutput{VirtualMFADevices: make([]VirtualMFADevice, 0, len(page)), Page: p}
	for _, d := range page {
		v := VirtualMFADevice{SerialNumber: d.SerialNumber, Tags: tagsOut(d.Tags)}
		if !d.EnabledAt.IsZero() {
			t := d.EnabledAt.UTC()
			v.EnableDate = &t
			u, err := s.assignedUser(ctx, c.Account, d.UserName)
			if err != nil {
				return nil, err
			}
			v.User = &u
		}
		out.VirtualMFADevices = append(out.VirtualMFADevices, v)
	}
	return out, nil
}

// assignedUser renders the user a device is enabled for ("" is the root).
func (s *Service) assignedUser(ctx context.Context, account, name string) (User, error) {
	if name == "" {
		acct, err := s.store.GetAccount(ctx, account)
		if err != nil {
			return User{}, internal(err, "load account "+account)
		}
		return User{UserID: account, ARN: rootARN(account), CreateDate: acct.CreatedAt.UTC().Truncate(time.Second)}, nil
	}
	u, err := s.store.GetUser(ctx, account, name)
	if err != nil {
		return User{}, internal(err, "load user "+name)
	}
	return userOut(u, false), nil
}

// DeleteVirtualMFADeviceInput is the input of DeleteVirtualMFADevice.
type DeleteVirtualMFADeviceInput struct {
	SerialNumber string `required:"true" min:"9" max:"256" pattern:"[\\w+=/:,.@-]+"`
}

// DeleteVirtualMFADeviceOutput is the (empty) output of DeleteVirtualMFADevice.
type DeleteVirtualMFADeviceOutput struct{}

// DeleteVirtualMFADevice deletes a virtual MFA device that is not enabled
// (DeleteConflict otherwise: deactivate it first).
func (s *Service) DeleteVirtualMFADevice(ctx context.Context, c *authz.Caller, in *DeleteVirtualMFADeviceInput) (*DeleteVirtualMFADeviceOutput, error) {
	d, found, err := s.loadMFADevice(ctx, c.Account, in.SerialNumber)
	if err != nil {
		return nil, err
	}
	// Authorize before revealing whether the device exists.
	resource := in.SerialNumber
	if found {
		resource = d.SerialNumber
	}
	if err := s.checkAs(ctx, c, "iam:DeleteVirtualMFADevice", resource, in.SerialNumber, resourceTagKeys(d.Tags)...); err != nil {
		return nil, err
	}
	if !found {
		return nil, noSuchMFADevice(in.SerialNumber)
	}
	if !d.EnabledAt.IsZero() {
		return nil, apierr.New(apierr.DeleteConflict, "MFA Device is still in use.")
	}
	if err := s.store.DeleteMFADevice(ctx, d.SerialNumber); err != nil {
		if isNotFound(err) {
			return nil, noSuchMFADevice(in.SerialNumber)
		}
		return nil, internal(err, "delete mfa device")
	}
	return &DeleteVirtualMFADeviceOutput{}, nil
}

// GetMFADeviceInput is the input of GetMFADevice.
type GetMFADeviceInput struct {
	SerialNumber string `required:"true" min:"9" max:"256" pattern:"[\\w+=/:,.@-]+"`
	UserName     string `min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
}

// GetMFADeviceOutput is the output of GetMFADevice.
type GetMFADeviceOutput struct {
	UserName     string    `xml:"UserName,omitempty"`
	SerialNumber string    `xml:"SerialNumber"`
	EnableDate   time.Time `xml:"EnableDate,omitempty"`
}

// GetMFADevice returns an MFA device enabled for a user (without UserName:
// the caller).
func (s *Service) GetMFADevice(ctx context.Context, c *authz.Caller, in *GetMFADeviceInput) (*GetMFADeviceOutput, error) {
	o, err := s.authMFAOwner(ctx, c, "iam:GetMFADevice", in.UserName)
	if err != nil {
		return nil, err
	}
	d, err := s.ownedDevice(ctx, c, o, in.SerialNumber)
	if err != nil {
		return nil, err
	}
	return &GetMFADeviceOutput{UserName: o.name, SerialNumber: d.SerialNumber, EnableDate: d.EnabledAt.UTC()}, nil
}
