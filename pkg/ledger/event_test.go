package ledger_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sqsonce/sqsonce/pkg/ledger"
)

const valid = `{"id":"evt-1","account":"acc-1","amount":250,"currency":"EUR","occurred_at":"2026-11-27T10:00:00Z"}`

// with replaces one field of the valid event.
func with(field, value string) string {
	return strings.Replace(valid, fieldValue(field), `"`+field+`":`+value, 1)
}

func fieldValue(field string) string {
	for _, part := range strings.Split(strings.Trim(valid, "{}"), ",") {
		if strings.HasPrefix(part, `"`+field+`"`) {
			return part
		}
	}
	panic("no field " + field)
}

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		body  string
		field string // the field the error names; "" = valid
	}{
		{name: "valid", body: valid},
		{name: "negative amount", body: with("amount", "-250")},
		{name: "unknown fields are ignored", body: strings.Replace(valid, "}", `,"note":"x"}`, 1)},
		{name: "empty body", body: "", field: "body"},
		{name: "malformed JSON", body: `{"id":"evt-1","amount":`, field: "body"},
		{name: "not an object", body: `[1,2]`, field: "body"},
		{name: "trailing data", body: valid + `{}`, field: "body"},
		{name: "invalid UTF-8", body: "{\"id\":\"\xff\"}", field: "body"},
		{name: "oversized", body: strings.Replace(valid, "}", `,"pad":"`+strings.Repeat("x", 256<<10)+`"}`, 1), field: "body"},
		{name: "missing id", body: strings.Replace(valid, `"id":"evt-1",`, "", 1), field: "id"},
		{name: "empty id", body: with("id", `""`), field: "id"},
		{name: "id of 129 bytes", body: with("id", `"`+strings.Repeat("i", 129)+`"`), field: "id"},
		{name: "id of 128 bytes", body: with("id", `"`+strings.Repeat("i", 128)+`"`)},
		{name: "reserved id", body: with("id", `"#balance"`), field: "id"},
		{name: "missing account", body: strings.Replace(valid, `"account":"acc-1",`, "", 1), field: "account"},
		{name: "amount zero", body: with("amount", "0"), field: "amount"},
		{name: "amount fractional", body: with("amount", "2.5"), field: "amount"},
		{name: "amount exponent", body: with("amount", "1e3"), field: "amount"},
		{name: "amount string", body: with("amount", `"250"`), field: "amount"},
		{name: "amount beyond int64", body: with("amount", "9223372036854775808"), field: "amount"},
		{name: "amount null", body: with("amount", "null"), field: "amount"},
		{name: "lower-case currency", body: with("currency", `"eur"`), field: "currency"},
		{name: "currency too long", body: with("currency", `"EURO"`), field: "currency"},
		{name: "missing occurred_at", body: strings.Replace(valid, `,"occurred_at":"2026-11-27T10:00:00Z"`, "", 1), field: "occurred_at"},
		{name: "bad occurred_at", body: with("occurred_at", `"yesterday"`), field: "occurred_at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := ledger.Decode([]byte(tc.body))
			if tc.field == "" {
				require.NoError(t, err)
				require.NotEmpty(t, ev.ID)
				return
			}
			require.ErrorIs(t, err, ledger.ErrInvalidEvent)
			var verr *ledger.ValidationError
			require.ErrorAs(t, err, &verr)
			require.Equal(t, tc.field, verr.Field, verr.Error())
		})
	}
}

func TestCanonicalIgnoresUnknownFieldsAndFormatting(t *testing.T) {
	t.Parallel()
	a, err := ledger.Decode([]byte(valid))
	require.NoError(t, err)
	b, err := ledger.Decode([]byte(`{ "note":"retry", "occurred_at":"2026-11-27T11:00:00+01:00", "currency":"EUR", "amount":250, "account":"acc-1", "id":"evt-1" }`))
	require.NoError(t, err)
	require.Equal(t, string(a.Canonical()), string(b.Canonical()))
	c, err := ledger.Decode([]byte(with("amount", "251")))
	require.NoError(t, err)
	require.NotEqual(t, string(a.Canonical()), string(c.Canonical()))
}

// FuzzDecode: any body decodes to a valid event or a typed error naming a
// field; a decoded event's canonical form decodes to itself.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte(with("amount", "1e3")))
	f.Add([]byte(`{"id":"\u0000","account":"a","amount":-9223372036854775808,"currency":"ABC","occurred_at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ledger.Decode(body)
		if err != nil {
			var verr *ledger.ValidationError
			if !errors.As(err, &verr) || verr.Field == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if ev.ID == "" || ev.Account == "" || ev.Amount == 0 || len(ev.Currency) != 3 {
			t.Fatalf("invalid event accepted: %+v", ev)
		}
		again, err := ledger.Decode(ev.Canonical())
		if err != nil {
			t.Fatalf("canonical form does not decode: %v", err)
		}
		if string(again.Canonical()) != string(ev.Canonical()) {
			t.Fatalf("canonical form is not stable")
		}
	})
}
