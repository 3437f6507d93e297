package vote

import (
	"strconv"

	"github.com/metagov/metagov-go/plugin"
)

// pollInput is the schema of vote.poll's rules.
var pollInput = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"required": ["method"],
	"properties": {
		"title": {"type": "string", "description": "What the vote is about, for events and exports"},
		"method": {"type": "string", "enum": ["single-choice", "approval", "ranked-choice", "condorcet-schulze",
			"condorcet-copeland", "score", "quadratic", "weighted", "consent"]},
		"options": {"type": "array", "items": {"type": "string", "minLength": 1},
			"description": "The options, in tie-break order; not for consent"},
		"eligible": {"type": "array", "items": {"type": "string", "minLength": 1},
			"description": "Voter ids who may vote; empty means anyone"},
		"weights": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0},
			"description": "Voter id → weight; absent voters weigh 1"},
		"quorum": {"type": "object", "additionalProperties": false, "properties": {
			"count": {"type": "integer", "minimum": 0}, "share": {"type": "number", "minimum": 0, "maximum": 1}}},
		"threshold": {"type": "object", "additionalProperties": false, "properties": {
			"share": {"type": "number", "minimum": 0, "maximum": 1}, "strict": {"type": "boolean"}}},
		"allow_change": {"type": "boolean", "default": true, "description": "Whether a voter may change their ballot"},
		"anonymous": {"type": "boolean", "default": false, "description": "Hide who voted what from the outcome"},
		"score_min": {"type": "integer"},
		"score_max": {"type": "integer"},
		"credits": {"type": "integer", "minimum": 1, "description": "quadratic: each voter's budget"},
		"points": {"type": "integer", "minimum": 1, "description": "weighted: each voter's points"},
		"tie_seed": {"type": "string", "description": "Break ties by SHA-256 of this seed and the option instead of option order"},
		"closing_at": {"type": "string", "format": "date-time", "description": "When the vote closes (RFC 3339), at most ten years from now"},
		"duration_minutes": {"type": "integer", "minimum": 1, "maximum": ` + maxMinutes + `, "description": "Or: how long the vote stays open, at most ten years"},
		"min_open_minutes": {"type": "integer", "minimum": 0, "maximum": ` + maxMinutes + `, "default": 0,
			"description": "The vote does not close early before this"},
		"close_early": {"type": "boolean", "default": false,
			"description": "Close as soon as the result can no longer change (needs eligible voters)"},
		"closing_soon_minutes": {"type": "integer", "minimum": 0, "maximum": ` + maxMinutes + `, "default": 0,
			"description": "Send a closing_soon event this long before the close; 0 sends none"}
	}
}`)

// maxMinutes is plugin.MaxMinutes (ten years), the bound on every span of
// time a poll accepts, shown in the schema and checked again in Start.
var maxMinutes = strconv.FormatInt(plugin.MaxMinutes, 10)

// castInput is the schema of vote.cast's parameters.
var castInput = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"required": ["process_id", "voter", "ballot"],
	"properties": {
		"process_id": {"type": "integer"},
		"voter": {"type": "string", "minLength": 1, "maxLength": 200},
		"ballot": {"description": "The choice, in the method's shape: \"a\", [\"a\", \"b\"], {\"a\": 3} or a consent stance"}
	}
}`)

// castOutput is the schema of vote.cast's result.
var castOutput = plugin.Schema(`{
	"type": "object",
	"required": ["process_id", "voter", "revision", "status"],
	"properties": {
		"process_id": {"type": "integer"},
		"voter": {"type": "string"},
		"revision": {"type": "integer"},
		"status": {"type": "string"}
	}
}`)

// exportInput is the schema of vote.export's parameters.
var exportInput = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"required": ["process_id"],
	"properties": {
		"process_id": {"type": "integer"},
		"limit": {"type": "integer", "minimum": 1, "maximum": ` + strconv.Itoa(maxExportPage) + `,
			"description": "Page the ballots: at most this many, by voter id, with next as the cursor; without it, the whole record"},
		"after": {"type": "string", "description": "With limit: the ballots of voters after this id (the next of the previous page)"}
	}
}`)
