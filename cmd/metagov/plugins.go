package main

// The plugins built into the binary. Each registers itself in init; this is
// the only file that names them.
import (
	_ "github.com/metagov/metagov-go/plugins/discord"
	_ "github.com/metagov/metagov-go/plugins/discourse"
	_ "github.com/metagov/metagov-go/plugins/github"
	_ "github.com/metagov/metagov-go/plugins/loomio"
	_ "github.com/metagov/metagov-go/plugins/mailgun"
	_ "github.com/metagov/metagov-go/plugins/near"
	_ "github.com/metagov/metagov-go/plugins/opencollective"
	_ "github.com/metagov/metagov-go/plugins/randomness"
	_ "github.com/metagov/metagov-go/plugins/revshare"
	_ "github.com/metagov/metagov-go/plugins/sendgrid"
	_ "github.com/metagov/metagov-go/plugins/slack"
	_ "github.com/metagov/metagov-go/plugins/sourcecred"
	_ "github.com/metagov/metagov-go/plugins/tsc"
	_ "github.com/metagov/metagov-go/plugins/twitter"
	_ "github.com/metagov/metagov-go/plugins/vote"
	_ "github.com/metagov/metagov-go/plugins/webhook"
)
