package rie

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		status   int
		header   http.Header
		body     string
		wantOut  string
		wantType string // a *FunctionError of this type
		wantErr  error
		wantFail bool // some other error
	}{
		{name: "success", status: 200, body: `{"batchItemFailures":[]}`, wantOut: `{"batchItemFailures":[]}`},
		{name: "empty success", status: 200, body: ``, wantOut: ``},
		{name: "handler error", status: 200, body: `{"errorMessage":"boom","errorType":"errorString"}`, wantType: "errorString"},
		{name: "handler error with stack", status: 200, body: `{"errorMessage":"x","errorType":"runtime.Error","stackTrace":[{"path":"a.go","line":1,"label":"f"}]}`, wantType: "runtime.Error"},
		{name: "object with more keys is a response", status: 200, body: `{"errorMessage":"x","errorType":"y","other":1}`, wantOut: `{"errorMessage":"x","errorType":"y","other":1}`},
		{name: "timeout", status: 200, body: `Task timed out after 3.00 seconds`, wantType: TimeoutErrorType},
		{name: "runtime exit", status: 502, body: `{"errorType":"Runtime.ExitError","errorMessage":"exit status 3"}`, wantType: "Runtime.ExitError"},
		{name: "bad gateway without body", status: 502, body: ``, wantType: unknownErrorType},
		{name: "lambda header", status: 200, header: http.Header{"X-Amz-Function-Error": {"Unhandled"}}, body: `not json`, wantType: "Unhandled"},
		{name: "lambda header with payload", status: 200, header: http.Header{"X-Amz-Function-Error": {"Unhandled"}}, body: `{"errorMessage":"m","errorType":"T"}`, wantType: "T"},
		{name: "busy", status: 400, wantErr: ErrBusy},
		{name: "server error", status: 500, wantFail: true},
		{name: "gateway timeout", status: 504, wantFail: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			header := tc.header
			if header == nil {
				header = http.Header{}
			}
			out, err := classify(tc.status, header, []byte(tc.body))
			switch {
			case tc.wantType != "":
				var fe *FunctionError
				require.ErrorAs(t, err, &fe)
				require.Equal(t, tc.wantType, fe.Type)
				require.Equal(t, tc.status, fe.StatusCode)
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
			case tc.wantFail:
				require.Error(t, err)
				var fe *FunctionError
				require.NotErrorAs(t, err, &fe)
			default:
				require.NoError(t, err)
				require.Equal(t, tc.wantOut, string(out))
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		line      string
		pid, ppid int
		ok        bool
	}{
		{name: "plain", line: "42 (bootstrap) S 7 42 7 0", pid: 42, ppid: 7, ok: true},
		{name: "comm with spaces and parens", line: "43 (a) b (c) R 9 43", pid: 43, ppid: 9, ok: true},
		{name: "garbage", line: "nope", ok: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pid, ppid, ok := parseStat([]byte(tc.line))
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.pid, pid)
			require.Equal(t, tc.ppid, ppid)
		})
	}
}
