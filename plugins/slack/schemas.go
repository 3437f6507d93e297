package slack

import "github.com/metagov/metagov-go/plugin"

// configSchema: what the OAuth install stores. team_id is the instance's
// community_platform_id. No property is a destination: the tokens go only
// to the API URL of the gateway's settings.
var configSchema = plugin.Schema(`{
	"type": "object",
	"additionalProperties": false,
	"properties": {
		"team_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$",
			"description": "the Slack workspace (team) id, such as T0123ABCD"},
		"team_name": {"type": "string", "maxLength": 256},
		"bot_token": {"type": "string", "minLength": 1, "maxLength": 1024, "writeOnly": true,
			"description": "the app's bot token in this workspace (xoxb-…)"},
		"bot_user_id": {"type": "string", "maxLength": 64, "description": "the app's bot user, whose events are marked is_metagov_bot"},
		"installer_user_id": {"type": "string", "maxLength": 64, "description": "the workspace admin who installed the app"},
		"installer_user_token": {"type": "string", "maxLength": 1024, "writeOnly": true,
			"description": "the installer's user token (xoxp-…), for the method action's token argument"}
	},
	"required": ["team_id", "bot_token"]
}`)
