package discoursefake

// The JSON shapes of the fake's answers and webhooks, after Discourse's
// serializers. Answers to documented endpoints are checked against the
// OpenAPI description on every request, so these cannot drift from it.

// avatar is the avatar template Discourse gives users without an upload.
func avatar(u *User) string {
	return "/letter_avatar_proxy/v4/letter/" + u.Username[:1] + "/8c91f0/{size}.png"
}

// userListJSON is an entry of GET /admin/users/list/{flag}.json
// (AdminUserListSerializer).
func userListJSON(u *User) map[string]any {
	return map[string]any{
		"id": u.ID, "username": u.Username, "name": u.Name, "avatar_template": avatar(u),
		"active": true, "admin": u.Admin, "moderator": false,
		"last_seen_at": created, "last_emailed_at": nil, "created_at": created,
		"last_seen_age": 1.5, "last_emailed_age": nil, "created_at_age": 100.0,
		"trust_level": 1, "manual_locked_trust_level": nil, "title": nil,
		"time_read": 0, "staged": false, "days_visited": 1, "posts_read_count": 0,
		"topics_entered": 0, "post_count": 0,
	}
}

// adminUserJSON is GET /admin/users/{id}.json (AdminDetailedUserSerializer),
// which, as documented, carries no user_fields.
func adminUserJSON(u *User) map[string]any {
	m := userListJSON(u)
	for k, v := range map[string]any{
		"can_send_activation_email": false, "can_activate": false, "can_deactivate": true,
		"ip_address": "127.0.0.1", "registration_ip_address": nil,
		"can_grant_admin": !u.Admin, "can_revoke_admin": u.Admin, "can_grant_moderation": true,
		"can_revoke_moderation": false, "can_impersonate": false,
		"like_count": 0, "like_given_count": 0, "topic_count": 0, "flags_given_count": 0,
		"flags_received_count": 0, "private_topics_count": 0, "can_delete_all_posts": true,
		"can_be_anonymized": true, "can_be_merged": true, "full_suspend_reason": nil,
		"primary_group_id": nil, "badge_count": 0, "warnings_received_count": 0,
		"bounce_score": 0, "reset_bounce_score_after": nil, "can_view_action_logs": true,
		"can_disable_second_factor": false, "can_delete_sso_record": false, "api_key_count": 0,
		"single_sign_on_record": nil, "approved_by": nil, "suspended_by": nil, "silenced_by": nil,
		"groups": []any{}, "external_ids": map[string]any{}, "include_ip": false,
	} {
		m[k] = v
	}
	return m
}

// postJSON is a post as POST /posts.json and GET /posts/{id}.json answer it
// (PostSerializer); polls are added by the poll plugin on GET only.
func postJSON(p *Post, t *Topic, u *User, withPolls bool) map[string]any {
	var deletedAt any
	if p.Deleted {
		deletedAt = created
	}
	m := map[string]any{
		"id": p.ID, "name": u.Name, "username": u.Username, "avatar_template": avatar(u),
		"created_at": created, "raw": p.Raw, "cooked": "<p>" + p.Raw + "</p>",
		"post_number": p.PostNumber, "post_type": 1, "posts_count": t.PostsCount, "updated_at": created,
		"reply_count": 0, "reply_to_post_number": nil, "quote_count": 0, "incoming_link_count": 0,
		"reads": 1, "readers_count": 0, "score": 0.0, "yours": true,
		"topic_id": t.ID, "topic_slug": t.Slug, "display_username": u.Name,
		"primary_group_name": nil, "flair_name": nil, "flair_url": nil, "flair_bg_color": nil,
		"flair_color": nil, "flair_group_id": nil, "version": 1, "can_edit": true, "can_delete": !p.Deleted,
		"can_recover": p.Deleted, "can_see_hidden_post": true, "can_wiki": true, "user_title": nil,
		"bookmarked": false, "actions_summary": []any{}, "moderator": false, "admin": u.Admin,
		"staff": u.Admin, "user_id": u.ID, "draft_sequence": 0, "hidden": false, "trust_level": 1,
		"deleted_at": deletedAt, "user_deleted": false, "edit_reason": nil, "can_view_edit_history": true,
		"wiki": false, "reviewable_id": nil, "reviewable_score_count": 0,
		"reviewable_score_pending_count": 0, "post_url": "/t/" + t.Slug + "/" + itoa(t.ID) + "/" + itoa(p.PostNumber),
		"mentioned_users": []any{},
	}
	if withPolls && p.Poll != nil {
		m["polls"] = []any{pollJSON(p.Poll)}
	}
	return m
}

// pollJSON is the poll plugin's PollSerializer as the API user (an admin
// who has not voted) sees it: votes are left out while the results are
// hidden from that user.
func pollJSON(p *Poll) map[string]any {
	visible := p.Status == "closed" || (p.Results != "on_vote" && p.Results != "on_close")
	var voters int64
	options := make([]any, 0, len(p.Options))
	for _, o := range p.Options {
		opt := map[string]any{"id": o.Digest(), "html": o.HTML}
		if visible {
			opt["votes"] = o.Votes
		}
		voters += o.Votes
		options = append(options, opt)
	}
	results := p.Results
	if results == "" {
		results = "always"
	}
	chart := p.ChartType
	if chart == "" {
		chart = "bar"
	}
	m := map[string]any{
		"id": p.ID, "name": p.Name, "type": p.Type, "status": p.Status, "results": results,
		"options": options, "voters": voters, "chart_type": chart, "title": nil,
	}
	if p.Public {
		m["public"] = true
	}
	if p.Close != "" {
		m["close"] = p.Close
	}
	if len(p.Groups) > 0 {
		m["groups"] = joinComma(p.Groups)
	}
	for k, v := range map[string]*int64{"min": p.Min, "max": p.Max, "step": p.Step} {
		if v != nil && (p.Type == "number" || (p.Type == "multiple" && k != "step")) {
			m[k] = *v
		}
	}
	return m
}
