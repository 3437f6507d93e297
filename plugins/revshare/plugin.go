// Package revshare keeps Web Monetization revenue-share configurations: for
// each named key, a set of payment pointers with integer weights, from which
// a site picks one pointer at random in proportion to its weight on every
// page view (https://webmonetization.org/docs/guides/probabilistic-revenue-sharing/).
//
// Everything lives in the instance's state; the plugin calls no platform.
// Its five actions keep the original's names, parameters and results:
// add-pointer, remove-pointer and replace-config change a key's pointers
// and return them; get-config and pick-pointer are public, so a web page
// can ask for a pointer without the driver's help. A key that is not given
// is "_DEFAULT".
//
// Where the original was silent or wrong, this package chooses:
//
//   - Weights are integers from 0 to 2^53-1 (the original took negative
//     ones, which made pick-pointer's draw meaningless), a key holds at most
//     1000 pointers, and replace-config checks its pointers like
//     add-pointer's (the original stored any object, and pick-pointer then
//     failed on it).
//   - pick-pointer on a key with no pointer of positive weight is a 404
//     "No pointers for key <key>" (the original answered 500).
//   - A key's pointers keep the order they were added in, as the original's
//     did, in every answer.
package revshare

import (
	"github.com/metagov/metagov-go/plugin"
)

func init() {
	plugin.Register(plugin.Info{
		Name:        "revshare",
		Description: "Web Monetization revenue sharing: weighted payment pointers kept by the gateway",
		AuthType:    plugin.AuthNone,
		Config:      configSchema,
		New:         func() plugin.Instance { return &RevShare{} },
		Actions: []plugin.Action{
			{
				Name:        "add-pointer",
				Description: "Add weighted pointer to revshare config, or update its weight if it already exists",
				Input:       addPointerInputSchema,
				Output:      pointersOutputSchema,
				Run:         plugin.Bind((*RevShare).addPointer),
			},
			{
				Name:        "remove-pointer",
				Description: "Remove pointer from revshare config",
				Input:       removePointerInputSchema,
				Output:      pointersOutputSchema,
				Run:         plugin.Bind((*RevShare).removePointer),
			},
			{
				Name:        "replace-config",
				Description: "Replace revshare config with new config",
				Input:       replaceConfigInputSchema,
				Output:      pointersOutputSchema,
				Run:         plugin.Bind((*RevShare).replaceConfig),
			},
			{
				Name:        "get-config",
				Description: "Get current revshare configuration",
				Input:       keyInputSchema,
				Output:      pointersOutputSchema,
				Public:      true,
				Run:         plugin.Bind((*RevShare).getConfig),
			},
			{
				Name:        "pick-pointer",
				Description: "Choose a random pointer according to weights",
				Input:       keyInputSchema,
				Output:      pickPointerOutputSchema,
				Public:      true,
				Run:         plugin.Bind((*RevShare).pickPointer),
			},
		},
	})
}

// configSchema: the original declared no config, and its documentation
// enables the plugin with "config": {}; any object is accepted and ignored.
var configSchema = plugin.Schema(`{"type": "object", "description": "revshare needs no config; any properties are ignored."}`)

// RevShare is one community's revenue-share configurations. It holds
// nothing itself: every action reads and writes the instance state.
type RevShare struct{}
