package plugin

import (
	"reflect"

	"github.com/metagov/metagov-go/internal/pluginrt/hook"
)

// The gateway's half of the SDK (building a Call or a Process and reading
// back what it buffered, the registry's reads, the conformance kit's probe
// of Bind) is unexported here and handed at init to internal/pluginrt,
// which the gateway imports: a plugin cannot reach it, and this package's
// documentation shows only what a plugin author uses. See package
// internal/pluginrt/hook for why it takes this shape.
func init() {
	hook.Register(hook.SDK[Call, Process, Account, Initiator, Status, Info]{
		NewCall:        newCall,
		SetScanner:     (*Call).setScanner,
		SetFloor:       (*Call).setFloor,
		CallChanges:    (*Call).changes,
		NewProcess:     newProcess,
		ProcessChanges: (*Process).changes,
		BoundTypes: func(run any) (in, out reflect.Type, ok bool) {
			fn, isRun := run.(RunFunc)
			if !isRun {
				return nil, nil, false
			}
			return boundTypes(fn)
		},
		LinkQualityRank: linkQualityRank,
		List:            list,
		Lookup:          lookup,
	})
}
