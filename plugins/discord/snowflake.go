package discord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Snowflake is a Discord id: a 64-bit unsigned integer. Discord sends it as
// a JSON string; the original Metagov's drivers send guild and channel ids
// as JSON numbers, which exceed 2^53 and so must never pass through a
// float64. Snowflake accepts both and always writes a string.
type Snowflake string

// UnmarshalJSON accepts "123…" or 123… (digits only, within 64 bits).
func (s *Snowflake) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = ""
		return nil
	}
	text := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
	}
	if _, err := strconv.ParseUint(text, 10, 64); err != nil {
		return fmt.Errorf("a Discord id (snowflake) is a 64-bit unsigned integer, as a string or a number, not %.40q", text)
	}
	*s = Snowflake(text)
	return nil
}

// MarshalJSON writes the id as a JSON string, as Discord does.
func (s Snowflake) MarshalJSON() ([]byte, error) { return json.Marshal(string(s)) }

// snowflakeSchema is the JSON Schema of a Snowflake input.
const snowflakeSchema = `{"type": ["string", "integer"], "pattern": "^[0-9]{1,20}$", "minimum": 0, "maximum": 18446744073709551615}`
