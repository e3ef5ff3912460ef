package admin

// Actions of the audit log: one per route an edit token is needed for.
const (
	actionProfilePut        = "profile.put"
	actionProfilePatch      = "profile.patch"
	actionProfileDelete     = "profile.delete"
	actionEvents            = "events.post"
	actionImport            = "import"
	actionCampaignsPublish  = "campaigns.publish"
	actionCampaignsRollback = "campaigns.rollback"
	actionCachePurge        = "cache.purge"
)
