package egress_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/egress"
)

func TestCheckURL(t *testing.T) {
	def, err := egress.NewPolicy("")
	require.NoError(t, err)
	opened, err := egress.NewPolicy("169.254.10.0/24, fe80::1")
	require.NoError(t, err)
	tests := []struct {
		name   string
		policy egress.Policy
		url    string
		ok     bool
	}{
		{"loopback driver", def, "http://127.0.0.1:9000/cb", true},
		{"private network", def, "https://10.1.2.3/cb", true},
		{"dns name", def, "https://driver.example/cb", true},
		{"cloud metadata", def, "http://169.254.169.254/latest/meta-data", false},
		{"link-local v6", def, "http://[fe80::1]/", false},
		{"mapped v4 metadata", def, "http://[::ffff:169.254.169.254]/", false},
		{"alibaba metadata", def, "http://100.100.100.200/", false},
		{"unspecified", def, "http://0.0.0.0:80/", false},
		{"not http", def, "ftp://example.com/", false},
		{"relative", def, "/cb", false},
		{"allowed by policy", opened, "http://169.254.10.7/cb", true},
		{"allowed single address", opened, "http://[fe80::1]/cb", true},
		{"still denied outside allowance", opened, "http://169.254.169.254/", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.CheckURL(tc.url)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, egress.ErrForbidden)
			}
		})
	}
	_, err = egress.NewPolicy("not-a-cidr")
	require.Error(t, err)
}

// TestClientChecksDialledAddress shows the check happens on the address
// actually dialled: a name resolving to a denied address is refused.
func TestClientChecksDialledAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	def, _ := egress.NewPolicy("")
	resp, err := def.Client(2 * time.Second).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode, "redirects are not followed")

	_, err = def.Client(2 * time.Second).Get("http://169.254.169.254/")
	require.True(t, errors.Is(err, egress.ErrForbidden), "got %v", err)
}
