//! Queues: names, items, scores and retry policy.

mod explain;
mod item;
mod retry;
mod score;

pub use explain::{explain, ItemMeta, Whereabouts};
pub use item::{check_id_and_type, Priority, QueueItem, MAX_ITEM_BYTES};
pub use retry::{retry_delay_ms, RetryPolicy, MAX_STALLS};
pub use score::{decode_queue_score, queue_score, DecodedScore, MAX_SEQ, SCORE_EPOCH_MS};

use crate::error::{Error, Result};
use serde::Serialize;

/// The bot's queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueName {
    SyncToSupabase,
    AnalyticsProcessing,
    PendingPosts,
}

impl QueueName {
    pub const ALL: [QueueName; 3] = [
        Self::SyncToSupabase,
        Self::AnalyticsProcessing,
        Self::PendingPosts,
    ];

    /// Parses the short name (`sync_to_supabase`, ...).
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|q| q.as_str() == s)
            .ok_or_else(|| Error::UnknownQueue { queue: s.into() })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SyncToSupabase => "sync_to_supabase",
            Self::AnalyticsProcessing => "analytics_processing",
            Self::PendingPosts => "pending_posts",
        }
    }
    /// The catalog family of the queue's keys (`queue.sync_to_supabase`, ...).
    pub fn family(self) -> &'static str {
        match self {
            Self::SyncToSupabase => "queue.sync_to_supabase",
            Self::AnalyticsProcessing => "queue.analytics_processing",
            Self::PendingPosts => "queue.pending_posts",
        }
    }
    /// The document's default priority for items of this queue.
    pub fn default_priority(self) -> Priority {
        Priority::new(match self {
            Self::SyncToSupabase => 50,
            Self::AnalyticsProcessing => 25,
            Self::PendingPosts => 50,
        })
        .expect("default priorities are in range")
    }
    pub fn retry_policy(self) -> RetryPolicy {
        RetryPolicy::for_queue(self)
    }
}
