//! A loopback TCP proxy that injects network faults between a client (the
//! worker) and a server (Redis, PostgreSQL): added latency, a blackhole (the
//! bytes stop flowing but no FIN/RST arrives, as when a network path dies),
//! cutting every open connection with a RST, and cutting connections in the
//! middle of a command (part of a chunk forwarded, then RST).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the bytes it forwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    Pass,
    /// Every chunk waits this long before it is forwarded.
    Delay(Duration),
    /// Nothing is forwarded (held, not dropped) until the fault changes.
    Blackhole,
}

struct State {
    fault: Fault,
    /// Per forwarded chunk, the chance (0-1) to forward half of it and then
    /// reset the connection: a command or a reply cut in the middle.
    cut_chance: f64,
    rng: u64,
}

/// Counters of what the proxy did, for the test's report.
#[derive(Debug, Default)]
pub struct Counts {
    pub connections: AtomicU64,
    /// Chunks forwarded from the client to the server (≈ round trips).
    pub chunks_up: AtomicU64,
    pub cut_mid_chunk: AtomicU64,
    pub cut_all: AtomicU64,
}

pub struct FaultProxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
    /// Bumped by `cut_all`: every connection opened before resets itself.
    generation: watch::Sender<u64>,
    /// Changed on every `set`, so held chunks look at the new fault.
    changed: watch::Sender<Fault>,
    pub counts: Arc<Counts>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `target`.
    pub async fn start(target: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            fault: Fault::Pass,
            cut_chance: 0.0,
            rng: 0x9e37_79b9_7f4a_7c15,
        }));
        let (generation, _) = watch::channel(0u64);
        let (changed, _) = watch::channel(Fault::Pass);
        let counts = Arc::new(Counts::default());
        let accept = {
            let (state, generation, changed, counts) = (
                state.clone(),
                generation.clone(),
                changed.clone(),
                counts.clone(),
            );
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(target).await else {
                        continue; // the client sees its connection closed
                    };
                    counts.connections.fetch_add(1, Ordering::Relaxed);
                    let link = Link {
                        state: state.clone(),
                        generation: generation.subscribe(),
                        changed: changed.subscribe(),
                        counts: counts.clone(),
                    };
                    tokio::spawn(link.run(client, server));
                }
            })
        };
        FaultProxy {
            port,
            state,
            generation,
            changed,
            counts,
            accept,
        }
    }

    pub fn set(&self, fault: Fault) {
        self.state.lock().unwrap().fault = fault;
        self.changed.send_replace(fault);
    }

    pub fn set_cut_chance(&self, chance: f64) {
        self.state.lock().unwrap().cut_chance = chance;
    }

    /// Resets every connection open now (new ones are accepted as usual).
    pub fn cut_all(&self) {
        self.counts.cut_all.fetch_add(1, Ordering::Relaxed);
        self.generation.send_modify(|g| *g += 1);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_all();
    }
}

struct Link {
    state: Arc<Mutex<State>>,
    generation: watch::Receiver<u64>,
    changed: watch::Receiver<Fault>,
    counts: Arc<Counts>,
}

impl Link {
    async fn run(self, client: TcpStream, server: TcpStream) {
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        let mut cut = self.generation.clone();
        let up = self.pump(cr, sw, true);
        let down = self.pump(sr, cw, false);
        tokio::select! {
            _ = up => {}
            _ = down => {}
            _ = cut.changed() => {}
        }
        // Dropping both halves of both sockets closes them; the linger of 0
        // set below makes that a RST, as a dead path or a killed peer would.
    }

    /// Forwards one direction until EOF, an error or a cut.
    async fn pump(
        &self,
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        up: bool,
    ) {
        let _ = to.as_ref().set_zero_linger();
        let mut changed = self.changed.clone();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            // Hold the chunk while blackholed; wait out a delay.
            loop {
                let fault = self.state.lock().unwrap().fault;
                match fault {
                    Fault::Pass => break,
                    Fault::Delay(d) => {
                        tokio::time::sleep(d).await;
                        break;
                    }
                    Fault::Blackhole => {
                        if changed.changed().await.is_err() {
                            return;
                        }
                    }
                }
            }
            let cut_here = {
                let mut s = self.state.lock().unwrap();
                s.rng ^= s.rng << 13;
                s.rng ^= s.rng >> 7;
                s.rng ^= s.rng << 17;
                s.cut_chance > 0.0 && (s.rng >> 11) as f64 / (1u64 << 53) as f64 <= s.cut_chance
            };
            if cut_here {
                self.counts.cut_mid_chunk.fetch_add(1, Ordering::Relaxed);
                let _ = to.write_all(&buf[..n / 2]).await;
                return;
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return;
            }
            if up {
                self.counts.chunks_up.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
