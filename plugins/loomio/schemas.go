package loomio

import "github.com/metagov/metagov-go/plugin"

// The schemas accept the inputs of both generations of the original where
// they differ (recipient_user_ids as strings or numbers, discussion_id as a
// number or the boolean an old schema declared by mistake, poll_type
// optional with the proposal as default, hide_results_until_closed) besides
// the names of Loomio's b2 API (group_id, hide_results, notify_recipients).

// groupProperties name a group other than the instance's.
const groupProperties = `
		"group_id": {"type": ["integer", "string"], "minimum": 1, "minLength": 1, "maxLength": 256,
			"description": "the Loomio group (id, key or handle) the API key's user belongs to; default: the instance's group"},
		"subgroup": {"type": "string", "minLength": 1, "maxLength": 256,
			"description": "the original's name for group_id: a group's key or handle (or id)"}`

// listMembersInputSchema: with no group, the instance's group's members.
var listMembersInputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {` + groupProperties + `
	}
}`)

// recipientProperties are the invitation parameters of discussions and
// polls.
const recipientProperties = `
		"recipient_audience": {"type": ["string", "null"], "enum": ["group", null], "description": "'group' or null. if 'group' whole group will be notified"},
		"recipient_user_ids": {"type": "array", "maxItems": 1000, "items": {"type": ["string", "integer"], "pattern": "^[0-9]+$", "minimum": 1}, "description": "array of user ids to notify or invite"},
		"recipient_emails": {"type": "array", "maxItems": 1000, "items": {"type": "string", "maxLength": 320}, "description": "array of email addresses of people to invite"},
		"recipient_message": {"type": "string", "maxLength": 10000, "description": "message to include in the invitation"},
		"notify_recipients": {"type": "boolean", "description": "send the recipients a notification (Loomio's default: false)"}`

// createDiscussionInputSchema follows the parameters of POST
// /api/b2/discussions.
var createDiscussionInputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"title": {"type": "string", "minLength": 1, "maxLength": 1000, "description": "title of the thread"},
		"description": {"type": "string", "description": "context for the thread"},
		"description_format": {"type": "string", "enum": ["html", "md"]},` + recipientProperties + `,` + groupProperties + `
	},
	"required": ["title"]
}`)

// pollInputSchema follows the parameters of POST /api/b2/polls.
var pollInputSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"title": {"type": "string", "minLength": 1, "maxLength": 1000, "description": "title of the poll"},
		"closing_at": {"type": "string", "minLength": 1, "maxLength": 64,
			"description": "when the poll closes: a date (2024-09-22, midnight UTC) or an ISO 8601 date-time (2024-09-22T04:00:00Z), in the future and at most two years ahead. Loomio may round it down to the hour; the process follows Loomio's closing_at."},
		"poll_type": {"type": "string", "enum": ["proposal", "poll", "count", "score", "ranked_choice", "meeting", "dot_vote"], "default": "proposal",
			"description": "the voting style of the poll"},
		"options": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string", "minLength": 1, "maxLength": 250},
			"description": "when proposal then agree, disagree, abstain, block. when meeting then a iso8601 date or datetime. otherwise it's anything goes."},
		"details": {"type": "string", "description": "the main text of the poll"},
		"details_format": {"type": "string", "enum": ["html", "md"]},
		"specified_voters_only": {"type": "boolean", "description": "if true, only invited people can vote, if false, every member of the group can vote"},
		"hide_results": {"type": "string", "enum": ["off", "until_vote", "until_closed"],
			"description": "when voters see the results: always (off), after voting (until_vote), or once the poll closes (until_closed; the outcome then says results_hidden until the close)"},
		"hide_results_until_closed": {"type": "boolean", "description": "the original's name: true is hide_results until_closed, false is off; hide_results wins when both are given"},
		"anonymous": {"type": "boolean", "description": "hide identities of voters (Loomio then hides the results until the poll closes)"},
		"discussion_id": {"type": ["integer", "boolean"], "description": "id of a discussion thread to add this poll to (a boolean, which an old schema allowed, is ignored)"},
		"topic_id": {"type": "integer", "minimum": 1, "description": "id of the thread (topic) to add this poll to, as Loomio's current API names it"},
		"voter_can_add_options": {"type": "boolean", "description": "if voters can add options to the poll"},
		"notify_on_closing_soon": {"type": "string", "enum": ["nobody", "author", "undecided_voters", "voters"],
			"description": "audience to send a reminder notification to, 24 hours before the poll closes"},` + recipientProperties + `,` + groupProperties + `
	},
	"required": ["title", "options", "closing_at"]
}`)

// pollOutcomeSchema documents the outcome. poll_url is kept for drivers
// written for the original's first generation, which read it there.
var pollOutcomeSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"poll_url": {"type": "string", "description": "the poll on Loomio (also the process url)"},
		"votes": {"type": ["object", "null"], "description": "per option (Loomio's i18n names such as poll_proposal_options.agree read as agree): its score (count), the ids of the users who chose it (users, strings), their names where Loomio shows them (names, in the same order) and voter_count; null while Loomio hides the results",
			"additionalProperties": {
				"type": "object",
				"properties": {
					"count": {"type": "number"},
					"users": {"type": "array", "items": {"type": "string"}},
					"names": {"type": "array", "items": {"type": "string"}},
					"voter_count": {"type": "integer"}
				}
			}},
		"results_hidden": {"type": "boolean", "description": "true while Loomio hides the results (hide_results until_closed, or an anonymous poll, until it closes): votes is then null, not zero"},
		"options": {"type": "array", "items": {"type": "string"}, "description": "the poll's options, in Loomio's order"},
		"voters_count": {"type": ["integer", "null"], "description": "people who may vote"},
		"decided_voters_count": {"type": ["integer", "null"], "description": "people who have voted"},
		"undecided_voters_count": {"type": ["integer", "null"], "description": "people who may vote and have not"},
		"cast_stances_pct": {"type": ["number", "null"], "description": "percentage of voters who have voted"},
		"closing_at": {"type": ["string", "null"], "description": "when Loomio closes the poll"},
		"closed_at": {"type": ["string", "null"], "description": "when Loomio closed it"}
	}
}`)
