package opencollective

// The GraphQL documents the plugin sends, checked in tests against Open
// Collective's published schema (schemaV2.graphql) by the fake. Deprecated
// fields are used only where the original's outputs need them (legacyId,
// which webhooks carry, and amount).

// expenseFields are the expense fields of process-expense results and of
// expense events, as in the original.
const expenseFields = `
fragment ExpenseFields on Expense {
  id
  legacyId
  description
  longDescription
  amount
  currency
  type
  status
  createdAt
  tags
  account { id legacyId slug }
  payee { id legacyId slug }
  createdByAccount { id legacyId slug }
  requestedByAccount { id legacyId slug }
  activities { id type createdAt data individual { id slug } }
  items { id amount createdAt updatedAt incurredAt description url }
}`

// conversationFields are the fields of create-conversation results.
const conversationFields = `
fragment ConversationFields on Conversation {
  id
  slug
  title
  createdAt
  updatedAt
  tags
  summary
  body { id reactions }
  stats { commentsCount }
}`

// collectiveQuery reads what Initialize keeps in state. throwIfMissing:
// false makes an unknown slug a null rather than an error, so the plugin
// can say which slug was not found.
const collectiveQuery = `
query Collective($slug: String!) {
  collective(slug: $slug, throwIfMissing: false) {
    id
    legacyId
    name
    slug
    childrenAccounts(limit: 100, accountType: [PROJECT]) {
      nodes { id legacyId slug type }
    }
  }
}`

// membersQuery lists the collective's members with their accounts.
const membersQuery = `
query Members($slug: String!) {
  collective(slug: $slug) {
    members(limit: 100) {
      nodes {
        role
        account { id slug name type twitterHandle githubHandle isArchived isActive isHost isAdmin }
      }
    }
  }
}`

// createWebhookMutation subscribes the gateway to every activity of the
// collective.
const createWebhookMutation = `
mutation CreateWebhook($webhook: WebhookCreateInput!) {
  createWebhook(webhook: $webhook) { id legacyId webhookUrl activityType }
}`

// deleteWebhookMutation removes a webhook registered for an older URL, or
// by an instance being disabled.
const deleteWebhookMutation = `
mutation DeleteWebhook($webhook: WebhookReferenceInput!) {
  deleteWebhook(webhook: $webhook) { id }
}`

// createConversationMutation starts a conversation in the collective.
const createConversationMutation = `
mutation CreateConversation($title: String!, $html: String!, $account: AccountReferenceInput!, $tags: [String]) {
  createConversation(title: $title, html: $html, account: $account, tags: $tags) { ...ConversationFields }
}` + conversationFields

// editConversationMutation renames a conversation, to mark a vote closed.
const editConversationMutation = `
mutation EditConversation($id: String!, $title: String!) {
  editConversation(id: $id, title: $title) { id title }
}`

// conversationReactionsQuery reads the reaction counts of a conversation's
// opening comment.
const conversationReactionsQuery = `
query Conversation($id: String!) {
  conversation(id: $id) { id body { id reactions } }
}`

// createCommentMutation comments on a conversation or an expense.
const createCommentMutation = `
mutation CreateComment($comment: CommentCreateInput!) {
  createComment(comment: $comment) { id createdAt html reactions }
}`

// processExpenseMutation approves, unapproves or rejects an expense.
const processExpenseMutation = `
mutation ProcessExpense($expense: ExpenseReferenceInput!, $action: ExpenseProcessAction!) {
  processExpense(expense: $expense, action: $action) { ...ExpenseFields }
}` + expenseFields

// expenseQuery fetches an expense again, for webhooks.
const expenseQuery = `
query Expense($expense: ExpenseReferenceInput!) {
  expense(expense: $expense) { ...ExpenseFields }
}` + expenseFields
