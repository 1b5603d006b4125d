//! Typed operations per key family, each a thin async wrapper over one Lua
//! script of the protocol (or plain reads).

pub mod bandit;
pub mod cache;
pub mod dedup;
pub mod health;
pub mod keyspace;
pub mod lock;
pub mod model;
pub mod queue;
pub mod ratelimit;
pub mod stats;
pub mod temp;

/// Milliseconds since the Unix epoch by this machine's clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A unique, time-ordered item id: `<epoch ms, 13 digits>-<process counter>-<random>`.
/// Ids made by one process sort in the order they were made, so items pushed
/// in the same millisecond (whose scores may tie) are still served FIFO.
pub fn new_item_id(now_ms: u64) -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{now_ms:013}-{n:010}-{}", &random_hex()[..8])
}

/// 128 random bits as hex: lease tokens and generated ids.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
