//! Fair share: every write a team can make (answers, reports, hints,
//! firewall changes, logins, connections to its way in) passes a token
//! bucket and a quota of its own, held per (team, kind) in memory, so one
//! team's flood is refused cheaply, before it reaches the log, and never
//! takes another team's share of the server or the engine.
//!
//! A refusal is counted per (team, kind) here, in memory, and shown to the
//! instructor (`/api/instructor/fair-share`); it is never an event, or a
//! flood would fill the log it is kept out of. The server adds what was
//! refused since the last time to the store's refusal counts at most once
//! a minute (`refusal_log`) and loads them at start, so the counts survive
//! a restart; the quotas' use starts again.
//!
//! [`TokenBucket`] and [`Allowance`] are pure: they take the time as an
//! argument.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

/// What a team writes, each with its own allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteKind {
    Answer,
    Report,
    Hint,
    Firewall,
    /// A successful login that opens a web session (failed ones are
    /// limited per client address, before the team is known).
    Login,
    /// A new connection to the team's SSH way in.
    WayIn,
    /// A live-update stream (`/events`), held open.
    LiveStream,
    /// A page or API read (GET) by a team: not a write, but a scoreboard
    /// or a timeline costs the server as much, so it has its allowance too.
    Read,
}

/// Why a portal connection was closed as soon as it was accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RefusedConnections {
    /// Its client address had `portal_per_address` open already.
    pub per_address: u64,
    /// The portal had `portal_total` open already.
    pub total: u64,
    /// A request whose body did not arrive whole within
    /// `ServerOptions::body_read_timeout` (its connection was closed).
    pub slow_body: u64,
}

impl WriteKind {
    pub const ALL: [WriteKind; 8] = [
        WriteKind::Answer,
        WriteKind::Report,
        WriteKind::Hint,
        WriteKind::Firewall,
        WriteKind::Login,
        WriteKind::WayIn,
        WriteKind::LiveStream,
        WriteKind::Read,
    ];

    /// The kind of write whose accepted requests each append one event of
    /// kind `event` (a store event kind's name) by the team, if any: how a
    /// restarted server knows what the quotas have used.
    pub fn of_event(event: &str) -> Option<WriteKind> {
        match event {
            "submission" => Some(WriteKind::Answer),
            "report_submitted" => Some(WriteKind::Report),
            "hint_taken" => Some(WriteKind::Hint),
            "firewall_changed" => Some(WriteKind::Firewall),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WriteKind::Answer => "answer",
            WriteKind::Report => "report",
            WriteKind::Hint => "hint",
            WriteKind::Firewall => "firewall",
            WriteKind::Login => "login",
            WriteKind::WayIn => "way_in",
            WriteKind::LiveStream => "live_stream",
            WriteKind::Read => "read",
        }
    }

    /// The kind [`WriteKind::name`] names.
    pub fn from_name(name: &str) -> Option<WriteKind> {
        WriteKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// A burst, a sustained rate, and a quota for the whole exercise (this
/// server's life).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rate {
    /// Requests allowed at once after a quiet spell.
    pub burst: u32,
    /// Requests per minute sustained.
    pub per_minute: u32,
    /// Requests accepted in all; `None`: no quota.
    pub quota: Option<u64>,
}

/// Every kind's allowance per team, and the way in's connection caps.
///
/// The defaults suit a team of four doing real work, with room to spare:
/// a trainee answers, blocks or reports a few times a minute at most, and
/// four at once at the start of a phase stay within the burst. A script
/// looping on the API is held to the sustained rate, and the quotas bound
/// what one team can put in the log over a day (about 6,000 events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FairShareLimits {
    /// 30 at once, 20 a minute, 2,000 in all.
    pub answer: Rate,
    /// 10 at once, 4 a minute, 300 in all.
    pub report: Rate,
    /// 10 at once, 10 a minute, 500 in all.
    pub hint: Rate,
    /// 40 at once (a list of addresses blocked in one go), 30 a minute,
    /// 3,000 in all.
    pub firewall: Rate,
    /// 10 at once, 10 a minute; no quota (a web session is memory, not
    /// the log, and at most [`FairShareLimits::web_sessions`] are kept).
    pub login: Rate,
    /// New connections to a team's way in, per client address: 10 at
    /// once, 30 a minute.
    pub way_in: Rate,
    /// Connections open at once to a team's way in, per client address (8)
    /// and in all (32), so another team's client cannot take them all.
    pub way_in_per_address: u32,
    pub way_in_total: u32,
    /// Web sessions kept per principal (64); a login beyond ends the oldest.
    pub web_sessions: usize,
    /// Live-update streams (`/events`) open at once per team (16: a few
    /// tabs each for four people); one beyond gets 429.
    pub live_streams: u32,
    /// A team's pages and API reads (GET): 120 at once, 600 a minute, no
    /// quota. Four people clicking and a live portal's fragment reloads
    /// stay far below; a script looping on an expensive page does not.
    pub read: Rate,
    /// TCP connections open at once to the HTTPS portal per client address
    /// (64: a classroom's browsers behind one NAT stay well below) and in
    /// all (1,024); one beyond is closed as soon as it is accepted.
    pub portal_per_address: u32,
    pub portal_total: u32,
}

impl Default for FairShareLimits {
    fn default() -> Self {
        FairShareLimits {
            answer: Rate {
                burst: 30,
                per_minute: 20,
                quota: Some(2_000),
            },
            report: Rate {
                burst: 10,
                per_minute: 4,
                quota: Some(300),
            },
            hint: Rate {
                burst: 10,
                per_minute: 10,
                quota: Some(500),
            },
            firewall: Rate {
                burst: 40,
                per_minute: 30,
                quota: Some(3_000),
            },
            login: Rate {
                burst: 10,
                per_minute: 10,
                quota: None,
            },
            way_in: Rate {
                burst: 10,
                per_minute: 30,
                quota: None,
            },
            way_in_per_address: 8,
            way_in_total: 32,
            web_sessions: 64,
            live_streams: 16,
            read: Rate {
                burst: 120,
                per_minute: 600,
                quota: None,
            },
            portal_per_address: 64,
            portal_total: 1024,
        }
    }
}

impl FairShareLimits {
    pub fn rate(&self, kind: WriteKind) -> Rate {
        match kind {
            WriteKind::Answer => self.answer,
            WriteKind::Report => self.report,
            WriteKind::Hint => self.hint,
            WriteKind::Firewall => self.firewall,
            WriteKind::Login => self.login,
            WriteKind::WayIn => self.way_in,
            WriteKind::Read => self.read,
            // Capped by count (`live_streams`), not by rate.
            WriteKind::LiveStream => Rate {
                burst: u32::MAX,
                per_minute: u32::MAX,
                quota: None,
            },
        }
    }
}

/// A classic token bucket: `capacity` tokens, refilled continuously at
/// `per_second`; a request takes one.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(burst: u32, per_minute: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            capacity: f64::from(burst.max(1)),
            per_second: f64::from(per_minute) / 60.0,
            tokens: f64::from(burst.max(1)),
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.updated = self.updated.max(now);
    }

    /// Takes a token, or says how long until one is there.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        if self.per_second <= 0.0 {
            return Err(Duration::from_secs(3600));
        }
        Err(Duration::from_secs_f64(
            (1.0 - self.tokens) / self.per_second,
        ))
    }

    /// Whether the bucket is full again (so forgetting it changes nothing).
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.capacity
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too fast: try again after this long.
    Rate { retry_after: Duration },
    /// The team used its quota for the exercise.
    Quota,
    /// Too many connections open at once.
    Concurrent,
}

impl Refusal {
    /// How the store names this reason.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Rate { .. } => "rate",
            Refusal::Quota => "quota",
            Refusal::Concurrent => "concurrent",
        }
    }

    /// Whole seconds for `Retry-After` (at least 1); none for a quota.
    pub fn retry_after_seconds(self) -> Option<u64> {
        match self {
            Refusal::Rate { retry_after } => Some(retry_after.as_secs_f64().ceil().max(1.0) as u64),
            Refusal::Concurrent => Some(1),
            Refusal::Quota => None,
        }
    }
}

/// One (team, kind)'s bucket and quota.
#[derive(Debug, Clone, PartialEq)]
pub struct Allowance {
    bucket: TokenBucket,
    used: u64,
    quota: Option<u64>,
}

impl Allowance {
    pub fn new(rate: Rate, now: Instant) -> Allowance {
        Allowance {
            bucket: TokenBucket::new(rate.burst, rate.per_minute, now),
            used: 0,
            quota: rate.quota,
        }
    }

    /// Counts at least `used` of the quota as used (what a team wrote
    /// before this server started).
    pub fn count_used(&mut self, used: u64) {
        self.used = self.used.max(used);
    }

    /// Admits one request or says why not; a refused request uses nothing.
    pub fn admit(&mut self, now: Instant) -> Result<(), Refusal> {
        if self.quota.is_some_and(|quota| self.used >= quota) {
            return Err(Refusal::Quota);
        }
        self.bucket
            .try_take(now)
            .map_err(|retry_after| Refusal::Rate { retry_after })?;
        self.used += 1;
        Ok(())
    }
}

/// Refusals of one (team, kind) since the server started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RefusalCount {
    pub rate: u64,
    pub quota: u64,
    pub concurrent: u64,
}

impl RefusalCount {
    fn add(&mut self, refusal: Refusal) {
        match refusal {
            Refusal::Rate { .. } => self.rate += 1,
            Refusal::Quota => self.quota += 1,
            Refusal::Concurrent => self.concurrent += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.rate + self.quota + self.concurrent
    }
}

/// The `'static` names of a stored (kind, reason), if this server knows them.
fn static_names(kind: &str, reason: &str) -> Option<(&'static str, &'static str)> {
    let kind = match kind {
        PORTAL_CONNECTION => PORTAL_CONNECTION,
        BLOCKED_LOGIN => BLOCKED_LOGIN,
        other => WriteKind::from_name(other)?.name(),
    };
    let reason = [
        "rate",
        "quota",
        "concurrent",
        "per_address",
        "total",
        SLOW_BODY,
    ]
    .into_iter()
    .find(|known| *known == reason)?;
    Some((kind, reason))
}

/// Peers remembered per team's way in before new ones are refused (a
/// peer is forgotten once its connections closed and its bucket refilled).
const WAY_IN_PEERS: usize = 1024;

#[derive(Debug)]
struct WayInPeer {
    bucket: TokenBucket,
    open: u32,
}

#[derive(Debug, Default)]
struct WayInTeam {
    open: u32,
    peers: HashMap<IpAddr, WayInPeer>,
}

/// The allowances of every team, and what was refused. Teams are the
/// plan's (a team index comes from an authenticated principal or a way-in
/// port), so the maps are bounded.
#[derive(Debug)]
pub struct FairShare {
    limits: FairShareLimits,
    allowances: Mutex<HashMap<(u32, WriteKind), Allowance>>,
    way_in: Mutex<HashMap<u32, WayInTeam>>,
    refused: Mutex<BTreeMap<(u32, WriteKind), RefusalCount>>,
    /// Requests refused because their client address failed to log in
    /// too often (the team is not known then).
    blocked_logins: AtomicU64,
    live_streams: Mutex<HashMap<u32, u32>>,
    portal: Mutex<PortalConnections>,
    refused_connections: Mutex<RefusedConnections>,
    /// What was refused since the store was last told (`take_unsaved`).
    unsaved: Mutex<BTreeMap<UnsavedKey, u64>>,
}

/// (team, kind, reason) as the store names them.
type UnsavedKey = (Option<u32>, &'static str, &'static str);

/// Kinds of refusal made before a team is known, as the store names them.
const PORTAL_CONNECTION: &str = "portal_connection";
const BLOCKED_LOGIN: &str = "blocked_login";
/// The reason a portal connection was closed for a body sent too slowly.
const SLOW_BODY: &str = "slow_body";

/// Connections open to the HTTPS portal, per client address and in all.
#[derive(Debug, Default)]
struct PortalConnections {
    open: u32,
    per_address: HashMap<IpAddr, u32>,
}

impl FairShare {
    pub fn new(limits: FairShareLimits) -> FairShare {
        FairShare {
            limits,
            allowances: Mutex::new(HashMap::new()),
            way_in: Mutex::new(HashMap::new()),
            refused: Mutex::new(BTreeMap::new()),
            blocked_logins: AtomicU64::new(0),
            live_streams: Mutex::new(HashMap::new()),
            portal: Mutex::new(PortalConnections::default()),
            refused_connections: Mutex::new(RefusedConnections::default()),
            unsaved: Mutex::new(BTreeMap::new()),
        }
    }

    fn unsaved(&self, team: Option<u32>, kind: &'static str, reason: &'static str) {
        *self
            .unsaved
            .lock()
            .expect("fair share lock")
            .entry((team, kind, reason))
            .or_default() += 1;
    }

    /// What was refused since the last call, for the store, and forgets it.
    pub fn take_unsaved(&self) -> Vec<enshu_store::RefusalTally> {
        std::mem::take(&mut *self.unsaved.lock().expect("fair share lock"))
            .into_iter()
            .map(|((team, kind, reason), count)| enshu_store::RefusalTally {
                team,
                kind: kind.to_owned(),
                reason: reason.to_owned(),
                count,
            })
            .collect()
    }

    /// Puts back what [`FairShare::take_unsaved`] gave when the store
    /// could not take it, to be tried again.
    pub fn keep_unsaved(&self, tallies: &[enshu_store::RefusalTally]) {
        let mut unsaved = self.unsaved.lock().expect("fair share lock");
        for tally in tallies {
            if let Some((kind, reason)) = static_names(&tally.kind, &tally.reason) {
                *unsaved.entry((tally.team, kind, reason)).or_default() += tally.count;
            }
        }
    }

    /// Adds counts the store kept from before this server started to what
    /// the instructor is shown (not to what is unsaved).
    pub fn add_saved(&self, tallies: &[enshu_store::RefusalTally]) {
        for tally in tallies {
            match (tally.team, tally.kind.as_str(), tally.reason.as_str()) {
                (None, PORTAL_CONNECTION, reason) => {
                    let mut counts = self.refused_connections.lock().expect("fair share lock");
                    if reason == "per_address" {
                        counts.per_address += tally.count;
                    } else if reason == SLOW_BODY {
                        counts.slow_body += tally.count;
                    } else {
                        counts.total += tally.count;
                    }
                }
                (None, BLOCKED_LOGIN, _) => {
                    self.blocked_logins
                        .fetch_add(tally.count, Ordering::Relaxed);
                }
                (Some(team), kind, reason) => {
                    let Some(kind) = WriteKind::from_name(kind) else {
                        continue;
                    };
                    let mut refused = self.refused.lock().expect("fair share lock");
                    let count = refused.entry((team, kind)).or_default();
                    match reason {
                        "rate" => count.rate += tally.count,
                        "quota" => count.quota += tally.count,
                        _ => count.concurrent += tally.count,
                    }
                }
                _ => {}
            }
        }
    }

    /// Admits a TCP connection from `peer` to the HTTPS portal, before its
    /// TLS handshake; the permit holds its place until dropped (the
    /// connection closed). A refusal is counted here.
    pub fn admit_portal_connection(
        self: &Arc<Self>,
        peer: IpAddr,
    ) -> Result<PortalConnectionPermit, Refusal> {
        let mut portal = self.portal.lock().expect("fair share lock");
        let from_peer = portal.per_address.get(&peer).copied().unwrap_or(0);
        let refused = if from_peer >= self.limits.portal_per_address {
            Some(true)
        } else if portal.open >= self.limits.portal_total {
            Some(false)
        } else {
            None
        };
        if let Some(per_address) = refused {
            drop(portal);
            let mut counts = self.refused_connections.lock().expect("fair share lock");
            if per_address {
                counts.per_address += 1;
            } else {
                counts.total += 1;
            }
            drop(counts);
            self.unsaved(
                None,
                PORTAL_CONNECTION,
                if per_address { "per_address" } else { "total" },
            );
            return Err(Refusal::Concurrent);
        }
        portal.open += 1;
        *portal.per_address.entry(peer).or_default() += 1;
        Ok(PortalConnectionPermit {
            fair_share: Arc::clone(self),
            peer,
        })
    }

    /// Counts a request cut off because its body came too slowly.
    pub fn count_slow_body(&self) {
        self.refused_connections
            .lock()
            .expect("fair share lock")
            .slow_body += 1;
        self.unsaved(None, PORTAL_CONNECTION, SLOW_BODY);
    }

    /// Portal connections closed at once for being over a cap, or cut
    /// off for a body sent too slowly.
    pub fn refused_connections(&self) -> RefusedConnections {
        *self.refused_connections.lock().expect("fair share lock")
    }

    /// Portal connections open now.
    pub fn portal_connections_open(&self) -> u32 {
        self.portal.lock().expect("fair share lock").open
    }

    /// Counts a request refused for its address's failed logins.
    pub fn count_blocked_login(&self) {
        self.blocked_logins.fetch_add(1, Ordering::Relaxed);
        self.unsaved(None, BLOCKED_LOGIN, "rate");
    }

    pub fn blocked_logins(&self) -> u64 {
        self.blocked_logins.load(Ordering::Relaxed)
    }

    pub fn limits(&self) -> &FairShareLimits {
        &self.limits
    }

    /// Counts what each team wrote before this server started (its own
    /// events in the store, by kind) against its quotas, so a restart does
    /// not give a team its whole allowance again.
    pub fn add_used(&self, counts: &[enshu_store::TeamEventCount]) {
        let now = Instant::now();
        let mut allowances = self.allowances.lock().expect("fair share lock");
        for count in counts {
            let Some(kind) = WriteKind::of_event(&count.kind) else {
                continue;
            };
            allowances
                .entry((count.team, kind))
                .or_insert_with(|| Allowance::new(self.limits.rate(kind), now))
                .count_used(count.count);
        }
    }

    /// Admits one write of `kind` by `team`, or counts and returns the refusal.
    pub fn admit(&self, team: u32, kind: WriteKind) -> Result<(), Refusal> {
        let now = Instant::now();
        let result = self
            .allowances
            .lock()
            .expect("fair share lock")
            .entry((team, kind))
            .or_insert_with(|| Allowance::new(self.limits.rate(kind), now))
            .admit(now);
        if let Err(refusal) = result {
            self.count(team, kind, refusal);
        }
        result
    }

    fn count(&self, team: u32, kind: WriteKind, refusal: Refusal) {
        self.refused
            .lock()
            .expect("fair share lock")
            .entry((team, kind))
            .or_default()
            .add(refusal);
        self.unsaved(Some(team), kind.name(), refusal.reason());
    }

    /// Admits a new connection from `peer` to `team`'s way in; the
    /// returned guard holds its place until dropped (the connection ends).
    pub fn admit_way_in(self: &Arc<Self>, team: u32, peer: IpAddr) -> Result<WayInPermit, Refusal> {
        let now = Instant::now();
        let result = {
            let mut teams = self.way_in.lock().expect("fair share lock");
            let entry = teams.entry(team).or_default();
            if entry.peers.len() >= WAY_IN_PEERS && !entry.peers.contains_key(&peer) {
                entry
                    .peers
                    .retain(|_, known| known.open > 0 || !known.bucket.is_full(now));
            }
            let rate = self.limits.way_in;
            if entry.open >= self.limits.way_in_total
                || (entry.peers.len() >= WAY_IN_PEERS && !entry.peers.contains_key(&peer))
            {
                Err(Refusal::Concurrent)
            } else {
                let known = entry.peers.entry(peer).or_insert_with(|| WayInPeer {
                    bucket: TokenBucket::new(rate.burst, rate.per_minute, now),
                    open: 0,
                });
                if known.open >= self.limits.way_in_per_address {
                    Err(Refusal::Concurrent)
                } else {
                    match known.bucket.try_take(now) {
                        Ok(()) => {
                            known.open += 1;
                            entry.open += 1;
                            Ok(())
                        }
                        Err(retry_after) => Err(Refusal::Rate { retry_after }),
                    }
                }
            }
        };
        match result {
            Ok(()) => Ok(WayInPermit {
                fair_share: Arc::clone(self),
                team,
                peer,
            }),
            Err(refusal) => {
                self.count(team, WriteKind::WayIn, refusal);
                Err(refusal)
            }
        }
    }

    /// Admits a live-update stream of `team`; its place is held until the
    /// permit is dropped (the stream ends).
    pub fn admit_live_stream(self: &Arc<Self>, team: u32) -> Result<LiveStreamPermit, Refusal> {
        let mut open = self.live_streams.lock().expect("fair share lock");
        let count = open.entry(team).or_default();
        if *count >= self.limits.live_streams {
            drop(open);
            self.count(team, WriteKind::LiveStream, Refusal::Concurrent);
            return Err(Refusal::Concurrent);
        }
        *count += 1;
        Ok(LiveStreamPermit {
            fair_share: Arc::clone(self),
            team,
        })
    }

    /// Connections open to each team's way in now (`/metrics`).
    pub fn way_in_open(&self) -> BTreeMap<u32, u32> {
        self.way_in
            .lock()
            .expect("fair share lock")
            .iter()
            .map(|(&team, entry)| (team, entry.open))
            .collect()
    }

    /// Every (team, kind) with a refusal, by team then kind.
    pub fn refusals(&self) -> Vec<(u32, WriteKind, RefusalCount)> {
        self.refused
            .lock()
            .expect("fair share lock")
            .iter()
            .map(|(&(team, kind), &count)| (team, kind, count))
            .collect()
    }
}

/// A connection's place in its team's way in, given back when dropped.
#[derive(Debug)]
pub struct WayInPermit {
    fair_share: Arc<FairShare>,
    team: u32,
    peer: IpAddr,
}

impl Drop for WayInPermit {
    fn drop(&mut self) {
        let mut teams = self.fair_share.way_in.lock().expect("fair share lock");
        if let Some(entry) = teams.get_mut(&self.team) {
            entry.open = entry.open.saturating_sub(1);
            if let Some(peer) = entry.peers.get_mut(&self.peer) {
                peer.open = peer.open.saturating_sub(1);
            }
        }
    }
}

/// A portal connection's place, given back when dropped.
#[derive(Debug)]
pub struct PortalConnectionPermit {
    fair_share: Arc<FairShare>,
    peer: IpAddr,
}

impl Drop for PortalConnectionPermit {
    fn drop(&mut self) {
        let mut portal = self.fair_share.portal.lock().expect("fair share lock");
        portal.open = portal.open.saturating_sub(1);
        if let Some(open) = portal.per_address.get_mut(&self.peer) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                portal.per_address.remove(&self.peer);
            }
        }
    }
}

/// A live stream's place, given back when dropped.
#[derive(Debug)]
pub struct LiveStreamPermit {
    fair_share: Arc<FairShare>,
    team: u32,
}

impl Drop for LiveStreamPermit {
    fn drop(&mut self) {
        let mut open = self
            .fair_share
            .live_streams
            .lock()
            .expect("fair share lock");
        if let Some(count) = open.get_mut(&self.team) {
            *count = count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(3, 60, start);
        for _ in 0..3 {
            assert_eq!(bucket.try_take(start), Ok(()));
        }
        let wait = bucket.try_take(start).unwrap_err();
        assert!(
            wait > Duration::from_millis(990) && wait <= SECOND,
            "{wait:?}"
        );
        // One a second at 60 a minute.
        assert!(bucket.try_take(start + Duration::from_millis(500)).is_err());
        assert_eq!(bucket.try_take(start + SECOND), Ok(()));
        assert!(bucket.try_take(start + SECOND).is_err());
        // Never more than the burst, however long it was quiet.
        let later = start + 3600 * SECOND;
        for _ in 0..3 {
            assert_eq!(bucket.try_take(later), Ok(()));
        }
        assert!(bucket.try_take(later).is_err());
    }

    #[test]
    fn a_bucket_tolerates_time_going_backwards() {
        let start = Instant::now() + 10 * SECOND;
        let mut bucket = TokenBucket::new(1, 60, start);
        assert_eq!(bucket.try_take(start), Ok(()));
        assert!(bucket.try_take(start - 5 * SECOND).is_err());
        assert_eq!(bucket.try_take(start + SECOND), Ok(()));
    }

    #[test]
    fn a_quota_refuses_for_good_and_refusals_use_nothing() {
        let start = Instant::now();
        let rate = Rate {
            burst: 2,
            per_minute: 60,
            quota: Some(3),
        };
        let mut allowance = Allowance::new(rate, start);
        assert_eq!(allowance.admit(start), Ok(()));
        assert_eq!(allowance.admit(start), Ok(()));
        assert!(matches!(allowance.admit(start), Err(Refusal::Rate { .. })));
        assert!(matches!(allowance.admit(start), Err(Refusal::Rate { .. })));
        // The refused ones did not count against the quota.
        assert_eq!(allowance.admit(start + SECOND), Ok(()));
        assert_eq!(allowance.admit(start + 100 * SECOND), Err(Refusal::Quota));
        assert_eq!(Refusal::Quota.retry_after_seconds(), None);
        assert_eq!(
            Refusal::Rate {
                retry_after: Duration::from_millis(1)
            }
            .retry_after_seconds(),
            Some(1)
        );
    }

    #[test]
    fn one_teams_flood_leaves_another_teams_allowance_whole_and_is_counted() {
        let fair_share = FairShare::new(FairShareLimits::default());
        let burst = fair_share.limits().answer.burst;
        let refused = (0..3_000)
            .filter(|_| fair_share.admit(1, WriteKind::Answer).is_err())
            .count();
        assert!(refused >= 3_000 - burst as usize - 1, "{refused}");
        for _ in 0..burst {
            assert_eq!(fair_share.admit(2, WriteKind::Answer), Ok(()));
        }
        // Another kind of team 1's is its own allowance.
        assert_eq!(fair_share.admit(1, WriteKind::Report), Ok(()));
        let refusals = fair_share.refusals();
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert_eq!(refusals[0].0, 1);
        assert_eq!(refusals[0].1, WriteKind::Answer);
        assert_eq!(refusals[0].2.total(), refused as u64);
    }

    #[test]
    fn a_way_in_is_capped_per_address_and_in_all_and_freed_on_drop() {
        let fair_share = Arc::new(FairShare::new(FairShareLimits {
            way_in: Rate {
                burst: 100,
                per_minute: 60,
                quota: None,
            },
            way_in_per_address: 2,
            way_in_total: 3,
            ..FairShareLimits::default()
        }));
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let two: IpAddr = "192.0.2.2".parse().unwrap();
        let three: IpAddr = "192.0.2.3".parse().unwrap();
        let first = fair_share.admit_way_in(2, one).unwrap();
        let _second = fair_share.admit_way_in(2, one).unwrap();
        assert_eq!(
            fair_share.admit_way_in(2, one).unwrap_err(),
            Refusal::Concurrent
        );
        let _third = fair_share.admit_way_in(2, two).unwrap();
        assert_eq!(
            fair_share.admit_way_in(2, three).unwrap_err(),
            Refusal::Concurrent
        );
        // Another team's way in is untouched.
        let _other = fair_share.admit_way_in(1, one).unwrap();
        drop(first);
        let _again = fair_share.admit_way_in(2, three).unwrap();
        let refusals = fair_share.refusals();
        assert_eq!(
            refusals,
            vec![(
                2,
                WriteKind::WayIn,
                RefusalCount {
                    rate: 0,
                    quota: 0,
                    concurrent: 2
                }
            )]
        );
    }

    #[test]
    fn live_streams_are_capped_per_team_and_freed_on_drop() {
        let fair_share = Arc::new(FairShare::new(FairShareLimits {
            live_streams: 2,
            ..FairShareLimits::default()
        }));
        let first = fair_share.admit_live_stream(1).unwrap();
        let _second = fair_share.admit_live_stream(1).unwrap();
        assert_eq!(
            fair_share.admit_live_stream(1).unwrap_err(),
            Refusal::Concurrent
        );
        let _other_team = fair_share.admit_live_stream(2).unwrap();
        drop(first);
        assert!(fair_share.admit_live_stream(1).is_ok());
    }

    #[test]
    fn portal_connections_are_capped_per_address_and_in_all_and_freed_on_drop() {
        let fair_share = Arc::new(FairShare::new(FairShareLimits {
            portal_per_address: 2,
            portal_total: 3,
            ..FairShareLimits::default()
        }));
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let two: IpAddr = "192.0.2.2".parse().unwrap();
        let first = fair_share.admit_portal_connection(one).unwrap();
        let _second = fair_share.admit_portal_connection(one).unwrap();
        assert!(fair_share.admit_portal_connection(one).is_err());
        let _third = fair_share.admit_portal_connection(two).unwrap();
        assert!(fair_share.admit_portal_connection(two).is_err());
        assert_eq!(fair_share.portal_connections_open(), 3);
        drop(first);
        let _again = fair_share.admit_portal_connection(two).unwrap();
        assert_eq!(
            fair_share.refused_connections(),
            RefusedConnections {
                per_address: 1,
                total: 1,
                slow_body: 0
            }
        );
    }

    #[test]
    fn new_way_in_connections_are_rate_limited_per_address() {
        let fair_share = Arc::new(FairShare::new(FairShareLimits::default()));
        let flood: IpAddr = "192.0.2.9".parse().unwrap();
        let burst = fair_share.limits().way_in.burst;
        for _ in 0..burst {
            drop(fair_share.admit_way_in(1, flood).unwrap());
        }
        assert!(matches!(
            fair_share.admit_way_in(1, flood),
            Err(Refusal::Rate { .. })
        ));
        let trainee: IpAddr = "192.0.2.10".parse().unwrap();
        assert!(fair_share.admit_way_in(1, trainee).is_ok());
    }
}
