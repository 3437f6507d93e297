package slack

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Slack's documented Block Kit limits that the votes stay within (the
// input schemas keep a message within 50 blocks).
const (
	maxSectionText     = 3000 // characters of a section's text
	maxButtonText      = 75   // characters of a button's text
	maxOptionText      = 75   // characters of a select option's text
	maxOptionValue     = 150  // characters of a select option's value
	maxActionID        = 255  // characters of an action_id
	maxMentionsShown   = 100  // voters named under an option; the rest are counted
	maxSelectOptions   = 100  // options of a static_select
	maxMessageFallback = 3000 // characters of the notification text sent with blocks
)

// textObject is a Block Kit text object.
type textObject struct {
	Type  string `json:"type"` // mrkdwn or plain_text
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

func mrkdwn(s string) *textObject {
	return &textObject{Type: "mrkdwn", Text: truncate(s, maxSectionText)}
}

func plainText(s string, limit int) *textObject {
	return &textObject{Type: "plain_text", Text: truncate(s, limit), Emoji: true}
}

// option is a select's option.
type option struct {
	Text  *textObject `json:"text"`
	Value string      `json:"value"`
}

// element is an interactive element: a button or a static_select.
type element struct {
	Type        string      `json:"type"`
	ActionID    string      `json:"action_id"`
	Text        *textObject `json:"text,omitempty"`
	Value       string      `json:"value,omitempty"`
	Placeholder *textObject `json:"placeholder,omitempty"`
	Options     []option    `json:"options,omitempty"`
}

// block is a section block, the only layout block the votes use.
type block struct {
	Type      string      `json:"type"`
	BlockID   string      `json:"block_id,omitempty"`
	Text      *textObject `json:"text,omitempty"`
	Accessory *element    `json:"accessory,omitempty"`
}

func section(text string, accessory *element) block {
	return block{Type: "section", Text: mrkdwn(text), Accessory: accessory}
}

// encodeBlocks is the blocks as the JSON text Slack's form argument takes.
func encodeBlocks(blocks []block) string {
	raw, _ := json.Marshal(blocks)
	return string(raw)
}

// truncate shortens s to at most limit characters, marking the cut.
func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
	return string(r[:limit-1]) + "…"
}

// escapeMrkdwn escapes the three characters Slack's mrkdwn gives a meaning
// to, so that a title or an option is shown as written.
func escapeMrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
