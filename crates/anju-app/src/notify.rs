//! Notifications to members (issue 8).
