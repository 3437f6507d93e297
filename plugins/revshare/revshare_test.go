package revshare_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/app"
	"github.com/metagov/metagov-go/internal/apptest"
	_ "github.com/metagov/metagov-go/plugins/revshare"
)

const community = "revshare-test-community"

var header = []string{"X-Metagov-Community", community}

// setup enables revshare as the original's test did, with "config": {}.
func setup(t *testing.T, db apptest.Database) *apptest.Server {
	t.Helper()
	s := apptest.Start(t, db, app.Config{})
	r := s.Do("PUT", "/api/internal/community/"+community, map[string]any{
		"name": community, "readable_name": "miriams new community",
		"plugins": []map[string]any{{"name": "revshare", "config": map[string]any{}}},
	})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	return s
}

// action posts parameters (nil: no body at all) and returns the answer.
func action(s *apptest.Server, path string, params any) apptest.Response {
	var body any
	if params != nil {
		body = map[string]any{"parameters": params}
	}
	return s.Do("POST", path, body, header...)
}

func requireOK(t *testing.T, r apptest.Response, want string) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	require.JSONEq(t, want, string(r.Body))
}

// TestDefaultKey is the original's first scenario: add, pick, remove.
func TestDefaultKey(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := setup(t, db)
		requireOK(t, action(s, "/api/action/revshare.get-config", nil), `{}`)
		requireOK(t, action(s, "/api/internal/action/revshare.add-pointer", map[string]any{"pointer": "$alice.example", "weight": 1}),
			`{"$alice.example": 1}`)
		// The original's test sends no body to the public pick-pointer.
		requireOK(t, action(s, "/api/action/revshare.pick-pointer", nil), `{"pointer": "$alice.example"}`)
		requireOK(t, action(s, "/api/internal/action/revshare.remove-pointer", map[string]any{"pointer": "$alice.example"}), `{}`)
		requireOK(t, action(s, "/api/internal/action/revshare.remove-pointer", map[string]any{"pointer": "$nobody.example"}), `{}`)
		r := action(s, "/api/action/revshare.pick-pointer", map[string]any{})
		require.Equal(t, http.StatusNotFound, r.Status, string(r.Body))
		require.Contains(t, r.JSON(t)["detail"], "No pointers for key _DEFAULT")
	})
}

// TestKeys is the original's second scenario: keys are separate.
func TestKeys(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := setup(t, db)
		requireOK(t, action(s, "/api/internal/action/revshare.add-pointer", map[string]any{"pointer": "$alice.example", "weight": 1, "key": "GROUP_1"}),
			`{"$alice.example": 1}`)
		requireOK(t, action(s, "/api/internal/action/revshare.add-pointer", map[string]any{"pointer": "$bob.example", "weight": 1, "key": "GROUP_2"}),
			`{"$bob.example": 1}`)
		requireOK(t, action(s, "/api/action/revshare.pick-pointer", map[string]any{"key": "GROUP_2"}), `{"pointer": "$bob.example"}`)
		requireOK(t, action(s, "/api/internal/action/revshare.remove-pointer", map[string]any{"pointer": "$bob.example", "key": "GROUP_2"}), `{}`)
		requireOK(t, action(s, "/api/internal/action/revshare.get-config", map[string]any{"key": "GROUP_2"}), `{}`)
		requireOK(t, action(s, "/api/action/revshare.get-config", map[string]any{"key": "GROUP_1"}), `{"$alice.example": 1}`)
		requireOK(t, action(s, "/api/action/revshare.get-config", map[string]any{}), `{}`)
	})
}

// TestOrderAndUpdate: pointers keep the order they were added in, on both
// databases (PostgreSQL's JSONB would sort an object's names), and a
// second add changes the weight in place.
func TestOrderAndUpdate(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := setup(t, db)
		for _, p := range []string{"$zed.example", "$alice.example", "$mia.example"} {
			r := action(s, "/api/internal/action/revshare.add-pointer", map[string]any{"pointer": p, "weight": 2})
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		}
		r := action(s, "/api/internal/action/revshare.add-pointer", map[string]any{"pointer": "$alice.example", "weight": 7})
		require.Equal(t, `{"$zed.example":2,"$alice.example":7,"$mia.example":2}`, strings.TrimSpace(string(r.Body)))
		r = action(s, "/api/action/revshare.get-config", nil)
		require.Equal(t, `{"$zed.example":2,"$alice.example":7,"$mia.example":2}`, strings.TrimSpace(string(r.Body)))

		r = action(s, "/api/internal/action/revshare.replace-config", map[string]any{"pointers": map[string]any{}})
		requireOK(t, r, `{}`)
		r = s.Do("POST", "/api/internal/action/revshare.replace-config",
			`{"parameters": {"pointers": {"$b.example": 3, "$a.example": 0, "$c.example": 1}}}`, header...)
		require.Equal(t, `{"$b.example":3,"$a.example":0,"$c.example":1}`, strings.TrimSpace(string(r.Body)))
		r = action(s, "/api/action/revshare.get-config", map[string]any{"key": "_DEFAULT"})
		require.Equal(t, `{"$b.example":3,"$a.example":0,"$c.example":1}`, strings.TrimSpace(string(r.Body)))
	})
}

// TestPickPointerDistribution draws many times: a pointer of weight 0 is
// never drawn, and both others are.
func TestPickPointerDistribution(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := setup(t, db)
		requireOK(t, action(s, "/api/internal/action/revshare.replace-config",
			map[string]any{"key": "site", "pointers": map[string]any{"$never.example": 0, "$often.example": 3, "$rare.example": 1}}),
			`{"$never.example": 0, "$often.example": 3, "$rare.example": 1}`)
		seen := map[string]int{}
		for range 200 {
			r := action(s, "/api/action/revshare.pick-pointer", map[string]any{"key": "site"})
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			seen[r.JSON(t)["pointer"].(string)]++
		}
		require.Zero(t, seen["$never.example"])
		require.Positive(t, seen["$rare.example"])
		require.Greater(t, seen["$often.example"], seen["$rare.example"], "weight 3 is drawn more than weight 1 (%v)", seen)

		requireOK(t, action(s, "/api/internal/action/revshare.replace-config",
			map[string]any{"key": "zero", "pointers": map[string]any{"$a.example": 0}}), `{"$a.example": 0}`)
		r := action(s, "/api/action/revshare.pick-pointer", map[string]any{"key": "zero"})
		require.Equal(t, http.StatusNotFound, r.Status, string(r.Body))
		require.Contains(t, r.JSON(t)["detail"], "No pointers for key zero")
	})
}

// TestBadInput: the schemas' refusals name the field, and nothing is stored.
func TestBadInput(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := setup(t, db)
		tests := []struct {
			name   string
			action string
			params any
			field  string
		}{
			{name: "no weight", action: "add-pointer", params: map[string]any{"pointer": "$a.example"}, field: "/weight"},
			{name: "negative weight", action: "add-pointer", params: map[string]any{"pointer": "$a.example", "weight": -1}, field: "/weight"},
			{name: "fractional weight", action: "add-pointer", params: map[string]any{"pointer": "$a.example", "weight": 1.5}, field: "/weight"},
			{name: "huge weight", action: "add-pointer", params: map[string]any{"pointer": "$a.example", "weight": 1 << 60}, field: "/weight"},
			{name: "unknown key", action: "add-pointer", params: map[string]any{"pointer": "$a.example", "weight": 1, "extra": 1}},
			{name: "no pointer", action: "remove-pointer", params: map[string]any{}, field: "/pointer"},
			{name: "no pointers", action: "replace-config", params: map[string]any{"key": "x"}, field: "/pointers"},
			{name: "weight not a number", action: "replace-config", params: map[string]any{"pointers": map[string]any{"$a.example": "1"}}, field: "/pointers/$a.example"},
			{name: "key not a string", action: "get-config", params: map[string]any{"key": 3}, field: "/key"},
			{name: "public unknown key", action: "pick-pointer", params: map[string]any{"keys": "x"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := action(s, "/api/internal/action/revshare."+tt.action, tt.params)
				require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
				if tt.field != "" {
					require.Equal(t, tt.field, r.JSON(t)["field"], string(r.Body))
				}
			})
		}
		requireOK(t, action(s, "/api/action/revshare.get-config", nil), `{}`)
		requireOK(t, action(s, "/api/action/revshare.get-config", map[string]any{"key": "x"}), `{}`)
		// Only get-config and pick-pointer are public.
		r := action(s, "/api/action/revshare.add-pointer", map[string]any{"pointer": "$a.example", "weight": 1})
		require.Equal(t, http.StatusNotFound, r.Status, string(r.Body))
	})
}

// TestTooManyPointers: a key holds at most 1000 pointers.
func TestTooManyPointers(t *testing.T) {
	apptest.EachDatabase(t, func(t *testing.T, db apptest.Database) {
		t.Parallel()
		s := setup(t, db)
		many := map[string]any{}
		for i := range 1000 {
			many["$p"+string(rune('a'+i%26))+string(rune('0'+i/26%10))+string(rune('0'+i/260))] = 1
		}
		require.Len(t, many, 1000)
		r := action(s, "/api/internal/action/revshare.replace-config", map[string]any{"pointers": many})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		r = action(s, "/api/internal/action/revshare.add-pointer", map[string]any{"pointer": "$one-more.example", "weight": 1})
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Equal(t, "/pointer", r.JSON(t)["field"])
		many["$one-more.example"] = 1
		r = action(s, "/api/internal/action/revshare.replace-config", map[string]any{"pointers": many})
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Equal(t, "/pointers", r.JSON(t)["field"])
	})
}
