package plugin

import "encoding/json"

// Event is something that happened on a platform, for the driver.
type Event struct {
	// Type is the event type, such as "post_created".
	Type string
	// Data is any JSON-marshalable value describing the event.
	Data any
	// Initiator is the platform user who caused the event, if known. The
	// driver always receives at least "user_id" (null when unknown) and
	// "provider" (the plugin's name when left empty).
	Initiator *Initiator
}

// Initiator identifies the platform user behind an event.
type Initiator struct {
	// UserID is unique within the identity provider.
	UserID string `json:"user_id"`
	// Provider names the identity provider, usually the plugin name.
	Provider string `json:"provider"`
	// UserName is a display name, where the platform has one.
	UserName string `json:"user_name,omitempty"`
	// IsMetagovBot marks events caused by the gateway's own bot user, so a
	// driver can ignore its own actions.
	IsMetagovBot bool `json:"is_metagov_bot,omitempty"`
}

// eventData marshals an event's data for storage.
func eventData(e Event) (json.RawMessage, error) {
	if e.Data == nil {
		return json.RawMessage(`{}`), nil
	}
	return json.Marshal(e.Data)
}
