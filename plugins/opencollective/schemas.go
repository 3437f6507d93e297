package opencollective

import "github.com/metagov/metagov-go/plugin"

// listMembersOutputSchema: the original's {"accounts": [...]}, each account
// once, with the roles it holds.
var listMembersOutputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"accounts": {"type": "array", "items": {
			"type": "object",
			"properties": {
				"id": {"type": "string"},
				"slug": {"type": "string"},
				"name": {"type": ["string", "null"]},
				"type": {"type": "string"},
				"twitterHandle": {"type": ["string", "null"]},
				"githubHandle": {"type": ["string", "null"]},
				"isArchived": {"type": "boolean"},
				"isActive": {"type": ["boolean", "null"]},
				"isHost": {"type": "boolean"},
				"isAdmin": {"type": "boolean"},
				"roles": {"type": "array", "items": {"type": "string"}}
			},
			"required": ["id", "slug", "roles"]
		}}
	},
	"required": ["accounts"]
}`)

var createConversationInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"raw": {"type": "string", "minLength": 1, "description": "HTML body of the conversation's first comment."},
		"title": {"type": "string", "minLength": 1, "description": "Title of the conversation."},
		"tags": {"type": "array", "items": {"type": "string"}, "description": "Tags of the conversation."}
	},
	"required": ["raw", "title"]
}`)

// withURLSchema is the output of actions that return a platform object (a
// conversation, an expense) with the url of its page.
var withURLSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"id": {"type": "string"},
		"url": {"type": "string"}
	},
	"required": ["id", "url"]
}`)

// expenseIDSchema accepts both the GraphQL id and the legacy id that
// webhooks and expense URLs show.
const expenseIDSchema = `{"type": ["string", "integer"], "description": "Expense GraphQL id (a string) or legacy id (an integer, as in the expense's URL and in expense events)."}`

// createCommentInputSchema: the original's OLD inputs (raw, conversation_id)
// and HEAD's (expense_id); exactly one target is checked by the action.
var createCommentInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"raw": {"type": "string", "minLength": 1, "description": "HTML body of the comment."},
		"conversation_id": {"type": "string", "minLength": 1, "description": "Conversation to comment on."},
		"expense_id": ` + expenseIDSchema + `
	},
	"required": ["raw"]
}`)

var commentOutputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"id": {"type": "string"},
		"createdAt": {"type": ["string", "null"]},
		"html": {"type": ["string", "null"]},
		"reactions": {}
	},
	"required": ["id"]
}`)

var processExpenseInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"expense_id": ` + expenseIDSchema + `,
		"action": {"type": "string", "enum": ["APPROVE", "UNAPPROVE", "REJECT"], "description": "What to do with the expense."}
	},
	"required": ["expense_id", "action"]
}`)

// voteInputSchema: details became optional; the original crashed without it.
var voteInputSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"title": {"type": "string", "minLength": 1, "description": "Title of the conversation that holds the vote."},
		"details": {"type": "string", "description": "HTML body of the conversation; the title is used when empty."}
	},
	"required": ["title"]
}`)

// voteOutcomeSchema: vote_url repeats the process url for drivers written
// for the original's first generation, which read it from the outcome.
var voteOutcomeSchema = plugin.Schema(`{
	"type": "object",
	"properties": {
		"votes": {
			"type": "object",
			"properties": {"yes": {"type": "integer"}, "no": {"type": "integer"}},
			"required": ["yes", "no"]
		},
		"vote_url": {"type": "string"}
	}
}`)
