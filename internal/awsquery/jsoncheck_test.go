package awsquery

import (
	"encoding/json"
	"reflect"
	"testing"
)

type checkTag struct {
	Key   string `json:"Key" min:"1" max:"4" pattern:"[a-z]*"`
	Value string `json:"Value" max:"3"`
}

type checkInput struct {
	ID      string     `json:"Id" max:"5" pattern:"^p-[0-9]+$"`
	Role    string     `json:"RoleName" pattern:"[a-z]{1,4}"`
	Max     *int32     `json:"MaxResults" min:"1" max:"20"`
	Tags    []checkTag `json:"Tags" max:"2"`
	Keys    []string   `json:"TagKeys" memberMin:"1" memberMax:"3" pattern:"[a-z]*"`
	Nested  *checkTag  `json:"Nested"`
	Ignored string     `json:"Ignored"`
	Type    string     `json:"Type" enum:"A,B"`
	States  []string   `json:"States" enum:"X,Y"`
}

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[checkInput]()
	for _, tc := range []struct {
		body string
		want *Violation
	}{
		{`{}`, nil},
		{``, nil},
		{`{"Id":"p-1","MaxResults":20,"Tags":[{"Key":"ab","Value":"x"}],"TagKeys":["a"],"Nested":{"Key":"a"},"Ignored":"!!!"}`, nil},
		// An absent optional member breaks nothing; an empty one is held
		// to its pattern and minimum.
		{`{"RoleName":""}`, &Violation{Path: "roleName", Kind: Pattern, Constraint: "Member must satisfy regular expression pattern: [a-z]{1,4}"}},
		{`{"Id":"p-123456"}`, &Violation{Path: "id", Kind: MaxLength, Constraint: "Member must have length less than or equal to 5"}},
		{`{"Id":"x"}`, &Violation{Path: "id", Kind: Pattern, Constraint: "Member must satisfy regular expression pattern: ^p-[0-9]+$"}},
		{`{"MaxResults":0}`, &Violation{Path: "maxResults", Kind: MinValue, Constraint: "Member must have value greater than or equal to 1"}},
		{`{"MaxResults":21}`, &Violation{Path: "maxResults", Kind: MaxValue, Constraint: "Member must have value less than or equal to 20"}},
		{`{"Tags":[{"Key":"a"},{"Key":"b"},{"Key":"c"}]}`, &Violation{Path: "tags", Kind: MaxLength, Constraint: "Member must have length less than or equal to 2"}},
		{`{"Tags":[{"Key":"a"},{"Key":""}]}`, &Violation{Path: "tags.2.member.key", Kind: MinLength, Constraint: "Member must have length greater than or equal to 1"}},
		{`{"Tags":[{"Key":"a","Value":"long"}]}`, &Violation{Path: "tags.1.member.value", Kind: MaxLength, Constraint: "Member must have length less than or equal to 3"}},
		{`{"TagKeys":["a","ABC"]}`, &Violation{Path: "tagKeys.2.member", Kind: Pattern, Constraint: "Member must satisfy regular expression pattern: [a-z]*"}},
		{`{"TagKeys":["abcd"]}`, &Violation{Path: "tagKeys.1.member", Kind: MaxLength, Constraint: "Member must have length less than or equal to 3"}},
		{`{"Nested":{"Key":"toolong"}}`, &Violation{Path: "nested.key", Kind: MaxLength, Constraint: "Member must have length less than or equal to 4"}},
		{`{"Type":"B","States":["Y","X"]}`, nil},
		{`{"Type":"C"}`, &Violation{Path: "type", Kind: Enum, Constraint: "Member must satisfy enum value set: [A, B]"}},
		{`{"States":["X","Z"]}`, &Violation{Path: "states.2.member", Kind: Enum, Constraint: "Member must satisfy enum value set: [X, Y]"}},
		// Another type than the field's is the decoder's to refuse.
		{`{"MaxResults":"5","Tags":{"Key":""}}`, nil},
	} {
		got, err := CheckJSON(typ, []byte(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.body, got, tc.want)
		}
	}
}

// TestCheckJSONMemberCase: encoding/json fills a field from a member whose
// name differs from the field's in case (or by Unicode folding), so the
// check must hold such a member to the field's constraints too: otherwise
// {"roleName": "..."} reaches the handler unchecked.
func TestCheckJSONMemberCase(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[checkInput]()
	for _, tc := range []struct {
		body string
		want *Violation
	}{
		{`{"id":"p-123456"}`, &Violation{Path: "id", Kind: MaxLength, Constraint: "Member must have length less than or equal to 5"}},
		{`{"ROLENAME":"ABC"}`, &Violation{Path: "roleName", Kind: Pattern, Constraint: "Member must satisfy regular expression pattern: [a-z]{1,4}"}},
		{`{"maxresults":0}`, &Violation{Path: "maxResults", Kind: MinValue, Constraint: "Member must have value greater than or equal to 1"}},
		{`{"tags":[{"key":"a"},{"KEY":""}]}`, &Violation{Path: "tags.2.member.key", Kind: MinLength, Constraint: "Member must have length greater than or equal to 1"}},
		{`{"Tags":[{"Key":"a","value":"long"}]}`, &Violation{Path: "tags.1.member.value", Kind: MaxLength, Constraint: "Member must have length less than or equal to 3"}},
		{`{"nested":{"key":"toolong"}}`, &Violation{Path: "nested.key", Kind: MaxLength, Constraint: "Member must have length less than or equal to 4"}},
		{`{"type":"C"}`, &Violation{Path: "type", Kind: Enum, Constraint: "Member must satisfy enum value set: [A, B]"}},
		// U+212A KELVIN SIGN folds to 'k': encoding/json takes "\u212aey" for Key.
		{`{"Nested":{"\u212aey":"toolong"}}`, &Violation{Path: "nested.key", Kind: MaxLength, Constraint: "Member must have length less than or equal to 4"}},
		// Two spellings of one member: whichever the decoder keeps, the
		// broken one is refused.
		{`{"RoleName":"abc","rolename":"ABC"}`, &Violation{Path: "roleName", Kind: Pattern, Constraint: "Member must satisfy regular expression pattern: [a-z]{1,4}"}},
		{`{"rolename":"ABC","RoleName":"abc"}`, &Violation{Path: "roleName", Kind: Pattern, Constraint: "Member must satisfy regular expression pattern: [a-z]{1,4}"}},
		{`{"roleName":"abc","tagkeys":["a"]}`, nil},
		// A member sent twice: the decoder merges two objects into one
		// structure (a pointer's, a list element's), keeping the first
		// one's fields the second does not name.
		{`{"Nested":{"Key":"toolong"},"Nested":{"Value":"x"}}`, &Violation{Path: "nested.key", Kind: MaxLength, Constraint: "Member must have length less than or equal to 4"}},
		{`{"Tags":[{"Key":"toolong"}],"Tags":[{"Value":"x"}]}`, &Violation{Path: "tags.1.member.key", Kind: MaxLength, Constraint: "Member must have length less than or equal to 4"}},
		{`{"Nested":{"Key":"toolong","Key":"ok"}}`, &Violation{Path: "nested.key", Kind: MaxLength, Constraint: "Member must have length less than or equal to 4"}},
		{`{"Id":"p-123456","Id":"p-1"}`, &Violation{Path: "id", Kind: MaxLength, Constraint: "Member must have length less than or equal to 5"}},
		{`{"Nested":{"Key":"ab"},"Nested":{"Value":"x"},"Tags":[],"Tags":[{"Key":"a"}]}`, nil},
	} {
		var in checkInput
		if err := json.Unmarshal([]byte(tc.body), &in); err != nil {
			t.Fatalf("%s: the decoder refused it: %v", tc.body, err)
		}
		got, err := CheckJSON(typ, []byte(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.body, got, tc.want)
		}
	}
}
