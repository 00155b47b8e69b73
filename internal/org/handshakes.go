package org

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Handshakes: the management account invites a standalone account of the
// deployment (by id or by its e-mail address) to join; the invited
// account's principals accept or decline, the management account cancels.
// An OPEN handshake expires 15 days after it was sent. No mail is sent: the
// invited account finds its invitations with ListHandshakesForAccount.

// handshakeLifetime is how long an invitation stays OPEN.
const handshakeLifetime = 15 * 24 * time.Hour

const (
	hsOpen     = "OPEN"
	hsAccepted = "ACCEPTED"
	hsDeclined = "DECLINED"
	hsCanceled = "CANCELED"
	hsExpired  = "EXPIRED"
	hsInvite   = "INVITE"
)

var handshakeIDPattern = regexp.MustCompile(`^h-[0-9a-z]{8,32}$`)

// HandshakeParty is one party to a handshake.
type HandshakeParty struct {
	ID   string `json:"Id" min:"1" max:"64"`
	Type string `json:"Type" enum:"ACCOUNT,ORGANIZATION,EMAIL"`
}

// HandshakeResource is a resource a handshake carries.
type HandshakeResource struct {
	Value     string              `json:"Value"`
	Type      string              `json:"Type"`
	Resources []HandshakeResource `json:"Resources,omitempty"`
}

// Handshake is a handshake on the wire.
type Handshake struct {
	ID                  string              `json:"Id"`
	ARN                 string              `json:"Arn"`
	Parties             []HandshakeParty    `json:"Parties"`
	State               string              `json:"State"`
	RequestedTimestamp  *Timestamp          `json:"RequestedTimestamp"`
	ExpirationTimestamp *Timestamp          `json:"ExpirationTimestamp"`
	Action              string              `json:"Action"`
	Resources           []HandshakeResource `json:"Resources"`
}

// HandshakeOutput is the result of the actions that return one handshake.
type HandshakeOutput struct {
	Handshake Handshake `json:"Handshake"`
}

// HandshakeInput is the request of the actions on one handshake.
type HandshakeInput struct {
	HandshakeID string `json:"HandshakeId" max:"34" pattern:"^h-[0-9a-z]{8,32}$"`
}

func errHandshakeNotFound() *apierr.Error {
	return apierr.New(apierr.HandshakeNotFoundException, "We can't find a handshake with the HandshakeId that you specified.")
}

// state is h's state at now: an OPEN handshake past its expiry is EXPIRED.
func state(h store.OrgHandshake, now time.Time) string {
	if h.State == hsOpen && !now.Before(h.ExpiresAt) {
		return hsExpired
	}
	return h.State
}

// handshake is h as the wire describes it at now.
func (s *Service) handshake(ctx context.Context, h store.OrgHandshake, now time.Time) (Handshake, error) {
	mgmt, err := s.store.GetAccount(ctx, h.Master)
	if err != nil && !isNotFound(err) {
		return Handshake{}, internal(err, "get account "+h.Master)
	}
	fs, err := s.store.GetSetting(ctx, featureSetSetting)
	if isNotFound(err) {
		fs, err = featureAll, nil
	}
	if err != nil {
		return Handshake{}, internal(err, "load organization feature set")
	}
	orgRes := HandshakeResource{Type: "ORGANIZATION", Value: h.OrgID, Resources: []HandshakeResource{
		{Type: "MASTER_EMAIL", Value: mgmt.Email}, {Type: "MASTER_NAME", Value: mgmt.Name}, {Type: "ORGANIZATION_FEATURE_SET", Value: fs},
	}}
	res := []HandshakeResource{orgRes}
	parties := []HandshakeParty{{ID: h.OrgID, Type: "ORGANIZATION"}}
	if h.TargetType != "ORGANIZATION" { // an invitation; ENABLE_ALL_FEATURES has the organization alone
		res = append(res, HandshakeResource{Type: h.TargetType, Value: h.Target})
		parties = append(parties, HandshakeParty{ID: h.Target, Type: h.TargetType})
	}
	if h.Notes != "" {
		res = append(res, HandshakeResource{Type: "NOTES", Value: h.Notes})
	}
	return Handshake{
		ID:      h.ID,
		ARN:     "arn:aws:organizations::" + h.Master + ":handshake/" + h.OrgID + "/" + strings.ToLower(h.Action) + "/" + h.ID,
		Parties: parties,
		State:   state(h, now), RequestedTimestamp: ts(h.RequestedAt), ExpirationTimestamp: ts(h.ExpiresAt),
		Action: h.Action, Resources: res,
	}, nil
}

// InviteAccountToOrganizationInput is the InviteAccountToOrganization request.
type InviteAccountToOrganizationInput struct {
	Target HandshakeParty `json:"Target"`
	Notes  string         `json:"Notes" max:"1024"`
	Tags   []Tag          `json:"Tags"`
}

// InviteAccountToOrganization invites a standalone account of the
// deployment, named by its id (Type ACCOUNT) or its e-mail address (Type
// EMAIL). An account of the organization gets
// HandshakeConstraintViolationException ALREADY_IN_AN_ORGANIZATION; one with
// an OPEN invitation DuplicateHandshakeException. The tags go on the
// account when it joins.
func (s *Service) InviteAccountToOrganization(ctx context.Context, c *authz.Caller, in *InviteAccountToOrganizationInput) (*HandshakeOutput, error) {
	switch in.Target.Type {
	case "ACCOUNT":
		if !accountIDPattern.MatchString(in.Target.ID) {
			return nil, invalidInput("You specified an invalid value for target id.")
		}
	case "EMAIL":
		if n := len(in.Target.ID); n < 6 || n > 64 || !emailPattern.MatchString(in.Target.ID) {
			return nil, invalidInput("You specified an invalid value for target id.")
		}
	case "ORGANIZATION":
		return nil, invalidInput("You can't invite an organization: the target must be an ACCOUNT or an EMAIL.")
	default:
		return nil, invalidInput("You specified an invalid value for target type.")
	}
	if len(in.Notes) > 1024 {
		return nil, invalidInput("You specified an invalid value for notes.")
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	o, err := s.authorize(ctx, c, "InviteAccountToOrganization")
	if err != nil {
		return nil, err
	}
	switch pending, err := s.pendingAllFeatures(ctx, o, s.time()); {
	case err != nil:
		return nil, err
	case pending:
		return nil, handshakeConstraint("INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES", "You can't invite an account while the organization is enabling all features.")
	}
	var a store.Account
	if in.Target.Type == "ACCOUNT" {
		a, err = s.store.GetAccount(ctx, in.Target.ID)
	} else {
		a, err = s.store.GetAccountByEmail(ctx, in.Target.ID)
	}
	if isNotFound(err) {
		return nil, invalidInput("You can only invite an account of this deployment: no account has the %s you specified.", strings.ToLower(in.Target.Type))
	}
	if err != nil {
		return nil, internal(err, "invite account")
	}
	if !a.Standalone || a.ID == o.mgmt {
		e := apierr.New(apierr.HandshakeConstraintViolationException, "The handshake request is invalid because the invited account is already a member of an organization.")
		e.Reason = "ALREADY_IN_AN_ORGANIZATION"
		return nil, e
	}
	if !a.ClosedAt.IsZero() {
		return nil, invalidInput("You can't invite a closed account.")
	}
	now := s.time()
	open, err := s.store.ListOrgHandshakes(ctx, "", a.ID)
	if err != nil {
		return nil, internal(err, "list handshakes")
	}
	for _, h := range open {
		if h.State != hsOpen {
			continue
		}
		if state(h, now) == hsOpen {
			return nil, apierr.New(apierr.DuplicateHandshakeException, "A handshake with the same action and target already exists.")
		}
		// Expired: close it, so the new one is the account's only OPEN one.
		if err := s.store.SetOrgHandshakeState(ctx, h.ID, hsOpen, hsExpired); err != nil && !isConflict(err) {
			return nil, internal(err, "expire handshake "+h.ID)
		}
	}
	h := store.OrgHandshake{OrgID: o.id, Action: hsInvite, State: hsOpen, Master: o.mgmt, TargetType: in.Target.Type,
		Target: in.Target.ID, TargetAcct: a.ID, Notes: in.Notes, Tags: tags, RequestedAt: now, ExpiresAt: now.Add(handshakeLifetime)}
	suffix, err := s.randomString(lowerDigits, 16)
	if err != nil {
		return nil, err
	}
	h.ID = "h-" + suffix
	switch err := s.store.CreateOrgHandshake(ctx, h); {
	case isExists(err): // a concurrent invitation won
		return nil, apierr.New(apierr.DuplicateHandshakeException, "A handshake with the same action and target already exists.")
	case err != nil:
		return nil, internal(err, "create handshake")
	}
	out, err := s.handshake(ctx, h, now)
	if err != nil {
		return nil, err
	}
	return &HandshakeOutput{Handshake: out}, nil
}

// partyHandshake loads a handshake for a caller: the invited account sees
// its own, the management account those of its organization; anyone else
// gets HandshakeNotFoundException, as for a handshake that does not exist.
func (s *Service) partyHandshake(ctx context.Context, c *authz.Caller, action, id string, invited, sender bool) (store.OrgHandshake, error) {
	if !handshakeIDPattern.MatchString(id) {
		return store.OrgHandshake{}, invalidInput("You specified an invalid value for handshakeId.")
	}
	a, o, err := s.self(ctx, c, action)
	if err != nil {
		if e, ok := apierr.As(err); !ok || e.Code != apierr.OrganizationsNotInUseException {
			return store.OrgHandshake{}, err
		}
	}
	h, err := s.store.GetOrgHandshake(ctx, id)
	if isNotFound(err) {
		return store.OrgHandshake{}, errHandshakeNotFound()
	}
	if err != nil {
		return store.OrgHandshake{}, internal(err, "get handshake "+id)
	}
	isInvited := invited && h.TargetAcct == a.ID
	isSender := sender && o.id != "" && h.OrgID == o.id && a.ID == o.mgmt
	if !isInvited && !isSender {
		return store.OrgHandshake{}, errHandshakeNotFound()
	}
	return h, nil
}

// transition moves h from OPEN to to, with AWS's errors for a handshake in
// another state.
func (s *Service) transition(ctx context.Context, h store.OrgHandshake, to string, now time.Time) error {
	switch st := state(h, now); {
	case st == to:
		return apierr.New(apierr.HandshakeAlreadyInStateException, "The specified handshake is already in the requested state.")
	case st != hsOpen:
		return apierr.New(apierr.InvalidHandshakeTransitionException, "You can't perform the operation on the handshake in its current state.")
	}
	switch err := s.store.SetOrgHandshakeState(ctx, h.ID, hsOpen, to); {
	case isConflict(err): // another request moved it first
		return apierr.New(apierr.InvalidHandshakeTransitionException, "You can't perform the operation on the handshake in its current state.")
	case err != nil:
		return internal(err, "handshake "+h.ID)
	}
	return nil
}

func (s *Service) handshakeOut(ctx context.Context, h store.OrgHandshake, st string, now time.Time) (*HandshakeOutput, error) {
	h.State = st
	out, err := s.handshake(ctx, h, now)
	if err != nil {
		return nil, err
	}
	return &HandshakeOutput{Handshake: out}, nil
}

// AcceptHandshake accepts an invitation, by a principal of the invited
// account: the account joins the organization's root (INVITED), with
// FullAWSAccess attached when SCPs are enabled and the invitation's tags.
func (s *Service) AcceptHandshake(ctx context.Context, c *authz.Caller, in *HandshakeInput) (*HandshakeOutput, error) {
	h, err := s.partyHandshake(ctx, c, "AcceptHandshake", in.HandshakeID, true, false)
	if err != nil {
		return nil, err
	}
	if h.Action == hsEnableAllFeatures {
		return s.acceptAllFeatures(ctx, h)
	}
	o, err := s.load(ctx)
	if err != nil {
		return nil, err
	}
	now := s.time()
	if st := state(h, now); st == hsOpen && h.OrgID != o.id {
		return nil, apierr.New(apierr.InvalidHandshakeTransitionException, "You can't perform the operation on the handshake in its current state.")
	}
	a, err := s.store.GetAccount(ctx, h.TargetAcct)
	if err != nil {
		return nil, internal(err, "get account "+h.TargetAcct)
	}
	if !a.Standalone && state(h, now) == hsOpen {
		e := apierr.New(apierr.HandshakeConstraintViolationException, "The handshake request is invalid because the invited account is already a member of an organization.")
		e.Reason = "ALREADY_IN_AN_ORGANIZATION"
		return nil, e
	}
	if err := s.transition(ctx, h, hsAccepted, now); err != nil {
		return nil, err
	}
	switch err := s.store.JoinOrgAccount(ctx, a.ID, "INVITED", now); {
	case isConflict(err):
		e := apierr.New(apierr.HandshakeConstraintViolationException, "The handshake request is invalid because the invited account is already a member of an organization.")
		e.Reason = "ALREADY_IN_AN_ORGANIZATION"
		return nil, e
	case err != nil:
		return nil, internal(err, "join account "+a.ID)
	}
	if err := s.attachDefaults(ctx, o, a.ID, false); err != nil {
		return nil, err
	}
	if len(h.Tags) > 0 {
		if err := s.store.TagOrgResource(ctx, a.ID, h.Tags, maxTags); err != nil {
			return nil, internal(err, "join account: tag")
		}
	}
	return s.handshakeOut(ctx, h, hsAccepted, now)
}

// DeclineHandshake declines an invitation, by a principal of the invited
// account.
func (s *Service) DeclineHandshake(ctx context.Context, c *authz.Caller, in *HandshakeInput) (*HandshakeOutput, error) {
	h, err := s.partyHandshake(ctx, c, "DeclineHandshake", in.HandshakeID, true, false)
	if err != nil {
		return nil, err
	}
	now := s.time()
	if err := s.transition(ctx, h, hsDeclined, now); err != nil {
		return nil, err
	}
	return s.handshakeOut(ctx, h, hsDeclined, now)
}

// CancelHandshake cancels an invitation, by a principal of the management
// account that sent it.
func (s *Service) CancelHandshake(ctx context.Context, c *authz.Caller, in *HandshakeInput) (*HandshakeOutput, error) {
	h, err := s.partyHandshake(ctx, c, "CancelHandshake", in.HandshakeID, false, true)
	if err != nil {
		return nil, err
	}
	now := s.time()
	if err := s.transition(ctx, h, hsCanceled, now); err != nil {
		return nil, err
	}
	return s.handshakeOut(ctx, h, hsCanceled, now)
}

// DescribeHandshake describes a handshake to either party.
func (s *Service) DescribeHandshake(ctx context.Context, c *authz.Caller, in *HandshakeInput) (*HandshakeOutput, error) {
	h, err := s.partyHandshake(ctx, c, "DescribeHandshake", in.HandshakeID, true, true)
	if err != nil {
		return nil, err
	}
	now := s.time()
	return s.handshakeOut(ctx, h, state(h, now), now)
}

// HandshakeFilter narrows a handshake list.
type HandshakeFilter struct {
	ActionType        string `json:"ActionType" enum:"INVITE,ENABLE_ALL_FEATURES,APPROVE_ALL_FEATURES,ADD_ORGANIZATIONS_SERVICE_LINKED_ROLE"`
	ParentHandshakeID string `json:"ParentHandshakeId" max:"34" pattern:"^h-[0-9a-z]{8,32}$"`
}

// ListHandshakesInput is the ListHandshakesForAccount and
// ListHandshakesForOrganization request.
type ListHandshakesInput struct {
	Filter     *HandshakeFilter `json:"Filter"`
	NextToken  string           `json:"NextToken" max:"100000"`
	MaxResults *int32           `json:"MaxResults" min:"1" max:"20"`
}

// ListHandshakesOutput is the ListHandshakesForAccount and
// ListHandshakesForOrganization result.
type ListHandshakesOutput struct {
	Handshakes []Handshake `json:"Handshakes"`
	NextToken  string      `json:"NextToken,omitempty"`
}

func checkHandshakeFilter(f *HandshakeFilter) error {
	if f == nil {
		return nil
	}
	switch f.ActionType {
	case "", hsInvite, "ENABLE_ALL_FEATURES", "APPROVE_ALL_FEATURES", "ADD_ORGANIZATIONS_SERVICE_LINKED_ROLE":
	default:
		return invalidInput("You specified an invalid value for actionType.")
	}
	if f.ParentHandshakeID != "" && !handshakeIDPattern.MatchString(f.ParentHandshakeID) {
		return invalidInput("You specified an invalid value for parentHandshakeId.")
	}
	return nil
}

// listHandshakes is one page of hs that pass the filter. Invitations and
// ENABLE_ALL_FEATURES handshakes exist, and none has a parent.
func (s *Service) listHandshakes(ctx context.Context, hs []store.OrgHandshake, in *ListHandshakesInput) (*ListHandshakesOutput, error) {
	if f := in.Filter; f != nil && f.ParentHandshakeID != "" {
		hs = nil
	} else if f != nil && f.ActionType != "" {
		hs = slices.DeleteFunc(slices.Clone(hs), func(h store.OrgHandshake) bool { return h.Action != f.ActionType })
	}
	pg, next, err := page(hs, func(h store.OrgHandshake) string { return h.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	now := s.time()
	out := &ListHandshakesOutput{Handshakes: make([]Handshake, 0, len(pg)), NextToken: next}
	for _, h := range pg {
		h.State = state(h, now)
		w, err := s.handshake(ctx, h, now)
		if err != nil {
			return nil, err
		}
		out.Handshakes = append(out.Handshakes, w)
	}
	return out, nil
}

// ListHandshakesForAccount lists the invitations the caller's account
// received, by id; any account of the deployment may call it.
func (s *Service) ListHandshakesForAccount(ctx context.Context, c *authz.Caller, in *ListHandshakesInput) (*ListHandshakesOutput, error) {
	if err := checkHandshakeFilter(in.Filter); err != nil {
		return nil, err
	}
	a, _, err := s.self(ctx, c, "ListHandshakesForAccount")
	if err != nil {
		if e, ok := apierr.As(err); !ok || e.Code != apierr.OrganizationsNotInUseException {
			return nil, err
		}
	}
	hs, err := s.store.ListOrgHandshakes(ctx, "", a.ID)
	if err != nil {
		return nil, internal(err, "list handshakes")
	}
	return s.listHandshakes(ctx, hs, in)
}

// ListHandshakesForOrganization lists the invitations the organization
// sent, by id.
func (s *Service) ListHandshakesForOrganization(ctx context.Context, c *authz.Caller, in *ListHandshakesInput) (*ListHandshakesOutput, error) {
	if err := checkHandshakeFilter(in.Filter); err != nil {
		return nil, err
	}
	o, err := s.authorize(ctx, c, "ListHandshakesForOrganization")
	if err != nil {
		return nil, err
	}
	hs, err := s.store.ListOrgHandshakes(ctx, o.id, "")
	if err != nil {
		return nil, internal(err, "list handshakes")
	}
	return s.listHandshakes(ctx, hs, in)
}
