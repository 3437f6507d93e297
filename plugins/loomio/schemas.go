package loomio

import "github.com/metagov/metagov-go/plugin"

// The schemas accept the inputs of both generations of the original where
// they differ: recipient_user_ids as strings (OLD) or numbers (HEAD),
// discussion_id as a number (HEAD) or the boolean the OLD schema declared
// by mistake (ignored), and poll_type optional (OLD) with the proposal the
// first version always created as default.

// listMembersInputSchema: with no subgroup, the main group's members.
var listMembersInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"subgroup": {"type": "string", "description": "subgroup to list membership of. can be the loomio key or the loomio handle. only works if plugin is configured with an API key for this subgroup."}
	}
}`)

// createDiscussionInputSchema follows the parameters of POST
// /api/b1/discussions.
var createDiscussionInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"title": {"type": "string", "minLength": 1, "description": "title of the thread"},
		"description": {"type": "string", "description": "context for the thread"},
		"description_format": {"type": "string", "enum": ["html", "md"]},
		"recipient_audience": {"type": ["string", "null"], "description": "'group' or null. if 'group' whole group will be notified about the new thread"},
		"recipient_user_ids": {"type": "array", "items": {"type": ["string", "integer"]}, "description": "array of user ids to notify or invite"},
		"recipient_emails": {"type": "array", "items": {"type": "string"}, "description": "array of email addresses of people to invite to the thread"},
		"recipient_message": {"type": "string", "description": "message to include in the email invitation"},
		"subgroup": {"type": "string", "description": "key or handle of the subgroup to start the thread in; the plugin must be configured with its API key."}
	},
	"required": ["title"]
}`)

// pollInputSchema follows the parameters of POST /api/b1/polls.
var pollInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"title": {"type": "string", "minLength": 1, "description": "title of the poll"},
		"closing_at": {"type": "string", "minLength": 1, "description": "when the poll closes: a date (2024-09-22, midnight UTC) or an ISO 8601 date-time (2024-09-22T04:00:00Z)"},
		"poll_type": {"type": "string", "enum": ["proposal", "poll", "count", "score", "ranked_choice", "meeting", "dot_vote"], "default": "proposal",
			"description": "the voting style of the poll"},
		"options": {"type": "array", "items": {"type": "string"},
			"description": "when proposal then agree, disagree, abstain, block. when meeting then a iso8601 date or datetime. otherwise it's anything goes."},
		"details": {"type": "string", "description": "the main text of the poll"},
		"details_format": {"type": "string", "enum": ["html", "md"]},
		"specified_voters_only": {"type": "boolean", "description": "if true, only invited people can vote, if false, anyone in the group or thread can vote"},
		"hide_results_until_closed": {"type": "boolean", "description": "allow voters to see the results before the poll has closed"},
		"anonymous": {"type": "boolean", "description": "hide identities of voters"},
		"discussion_id": {"type": ["integer", "boolean"], "description": "id of discussion thread to add this poll to (a boolean, which an old schema allowed, is ignored)"},
		"voter_can_add_options": {"type": "boolean", "description": "if voters can add options to the poll"},
		"recipient_audience": {"type": ["string", "null"], "description": "'group' or null. if 'group' whole group will be notified about the new poll"},
		"notify_on_closing_soon": {"type": "string", "enum": ["nobody", "author", "undecided_voters", "voters"],
			"description": "audience to send a reminder notification to, 24 hours before the poll closes"},
		"recipient_user_ids": {"type": "array", "items": {"type": ["string", "integer"]}, "description": "array of user ids to notify or invite"},
		"recipient_emails": {"type": "array", "items": {"type": "string"}, "description": "array of email addresses of people to invite to the poll"},
		"recipient_message": {"type": "string", "description": "message to include in the email invitation"},
		"subgroup": {"type": "string", "description": "key or handle of the subgroup to run the poll in; the plugin must be configured with its API key."}
	},
	"required": ["title", "options", "closing_at"]
}`)

// pollOutcomeSchema documents the outcome. poll_url is kept for drivers
// written for the original's first generation, which read it there.
var pollOutcomeSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"poll_url": {"type": "string", "description": "the poll on Loomio (also the process url)"},
		"votes": {"type": "object", "description": "per option name: its total score and the ids of the users who chose it",
			"additionalProperties": {
				"type": "object",
				"properties": {
					"count": {"type": "number"},
					"users": {"type": "array", "items": {"type": "string"}}
				}
			}},
		"voters_count": {"type": ["integer", "null"], "description": "people who may vote"},
		"undecided_voters_count": {"type": ["integer", "null"], "description": "people who may vote and have not"},
		"cast_stances_pct": {"type": ["number", "null"], "description": "percentage of voters who have voted"}
	}
}`)
