package core_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metagov/metagov-go/internal/core"
)

// TestErrorIsByCode checks that errors.Is tells core's errors apart by their
// typed code, through wrapping, whatever their detail.
func TestErrorIsByCode(t *testing.T) {
	err := fmt.Errorf("waking: %w", &core.Error{Kind: core.KindNotFound, Code: core.CodeProcessNotFound, Detail: "no process 7"})
	require.ErrorIs(t, err, &core.Error{Code: core.CodeProcessNotFound})
	require.NotErrorIs(t, err, &core.Error{Code: core.CodeInstanceGone})
	require.NotErrorIs(t, err, &core.Error{}, "an empty code matches nothing")
	require.NotErrorIs(t, errors.New("process_not_found"), &core.Error{Code: core.CodeProcessNotFound})
}

// TestGoneProcessesAreDone checks that a wake-up or poll of a process that no
// longer exists is done, not an error the job queue would retry, and that
// the process's record then answers process_not_found.
func TestGoneProcessesAreDone(t *testing.T) {
	ctx, _, g := kitGateway(t)
	v, err := g.StartProcess(ctx, core.StartRequest{Community: "c", Plugin: "kit", Process: "instant", Body: json.RawMessage(`{}`)})
	require.NoError(t, err)
	require.Equal(t, "pending", v.Status)
	require.NoError(t, g.WakeProcess(ctx, v.ID), "a pending process without Wake")

	require.NoError(t, g.WakeProcess(ctx, v.ID+1000), "a process that never was")
	require.NoError(t, g.PollProcess(ctx, v.ID+1000), "a process that never was")

	_, err = g.DeleteCommunity(ctx, "c")
	require.NoError(t, err)
	require.NoError(t, g.WakeProcess(ctx, v.ID), "a process deleted with its community")
	require.NoError(t, g.PollProcess(ctx, v.ID), "a process deleted with its community")
	_, err = g.GetProcess(ctx, "kit", "instant", v.ID)
	require.ErrorIs(t, err, &core.Error{Code: core.CodeProcessNotFound})
}
