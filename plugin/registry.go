package plugin

import (
	"fmt"
	"regexp"
	"sort"
	"sync"
)

// The registry is the one piece of global state in the SDK: plugins add
// themselves from init, before main runs, and the gateway reads it at start.
var (
	registryMu sync.RWMutex
	registry   = map[string]Info{}
)

// namePattern keeps plugin, action, process and event names usable in URL
// paths and in "<plugin>.<action>" identifiers without escaping.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Register makes a plugin available to the gateway. It is meant to be called
// from an init function and panics on a programming error: an invalid or
// duplicate name, a nil constructor, or duplicate action or process names.
func Register(info Info) {
	if err := info.validate(); err != nil {
		panic("plugin: Register: " + err.Error())
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[info.Name]; dup {
		panic(fmt.Sprintf("plugin: Register called twice for plugin %q", info.Name))
	}
	registry[info.Name] = info
}

// lookup returns the registered plugin with the given name.
func lookup(name string) (Info, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	info, ok := registry[name]
	return info, ok
}

// list returns every registered plugin, sorted by name.
func list() []Info {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]Info, 0, len(registry))
	for _, info := range registry {
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (info Info) validate() error {
	if !namePattern.MatchString(info.Name) {
		return fmt.Errorf("plugin name %q must match %s", info.Name, namePattern)
	}
	if info.New == nil {
		return fmt.Errorf("plugin %q has a nil New", info.Name)
	}
	seen := map[string]bool{}
	for _, a := range info.Actions {
		if !namePattern.MatchString(a.Name) {
			return fmt.Errorf("plugin %q: action name %q must match %s", info.Name, a.Name, namePattern)
		}
		if (a.Run == nil) == (a.RunProcess == nil) {
			return fmt.Errorf("plugin %q: action %q needs exactly one of Run and RunProcess", info.Name, a.Name)
		}
		if seen["action "+a.Name] {
			return fmt.Errorf("plugin %q: duplicate action %q", info.Name, a.Name)
		}
		seen["action "+a.Name] = true
	}
	for _, p := range info.Processes {
		if !namePattern.MatchString(p.Name) {
			return fmt.Errorf("plugin %q: process name %q must match %s", info.Name, p.Name, namePattern)
		}
		if p.New == nil {
			return fmt.Errorf("plugin %q: process %q has a nil New", info.Name, p.Name)
		}
		if seen["process "+p.Name] {
			return fmt.Errorf("plugin %q: duplicate process %q", info.Name, p.Name)
		}
		seen["process "+p.Name] = true
	}
	switch info.AuthType {
	case "", AuthNone, AuthAPIKey, AuthOAuth:
	default:
		return fmt.Errorf("plugin %q: unknown auth type %q", info.Name, info.AuthType)
	}
	if (info.AuthType == AuthOAuth) != (info.OAuth != nil) {
		return fmt.Errorf("plugin %q: OAuth must be set exactly when AuthType is %q", info.Name, AuthOAuth)
	}
	return nil
}
