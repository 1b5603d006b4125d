//! Typed operations per key family, each a thin async wrapper over one Lua
//! script of the protocol (or plain reads).

pub mod bandit;
pub mod cache;
pub mod dedup;
pub mod effects;
pub mod health;
pub mod inspect;
pub mod keyspace;
pub mod lock;
pub mod migrate;
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

/// 128 random bits as 32 hex digits: lock tokens and generated ids.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    format!("{:032x}", u128::from_le_bytes(bytes))
}

/// A queue lease's owner token, 32 hex digits: a random 64-bit key drawn once
/// per process, then a counter. Unique per reservation (what the owner check
/// needs) without a system call on every reserve.
pub fn lease_token() -> String {
    static KEY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let key = KEY.get_or_init(|| {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("the OS random source is available");
        u64::from_le_bytes(bytes)
    });
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{key:016x}{n:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_hex_digits_and_unique() {
        let tokens: std::collections::HashSet<String> =
            (0..10_000).map(|_| lease_token()).collect();
        assert_eq!(tokens.len(), 10_000);
        let random: std::collections::HashSet<String> = (0..1_000).map(|_| random_hex()).collect();
        assert_eq!(random.len(), 1_000);
        for t in tokens.iter().chain(&random) {
            assert!(
                t.len() == 32
                    && t.bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{t}"
            );
        }
    }
}
