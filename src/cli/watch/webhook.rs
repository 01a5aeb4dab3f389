//! Webhooks: the daemon tells a person's tools (chat, paging) when a pass did not apply
//! the revision (`apply-failed`) or a server turned BROKEN (`server-broken`), by a POST of
//! a JSON body to each webhook of `zonekeeper.yaml` that wants the event:
//!
//! ```json
//! {"event": "apply-failed", "at": "2026-12-06T18:40:02Z", "host": "dns-ops-1",
//!  "revision": "7234f01a0a5a…", "failures": ["ns2 did not serve a.test. serial …"]}
//! {"event": "server-broken", "at": "2026-12-06T18:40:02Z", "host": "dns-ops-1",
//!  "server": "ns2", "message": "serves none of its 3 zone(s): …"}
//! ```
//!
//! The URL is read when the event is sent, from the file or variable `zonekeeper.yaml`
//! names (it may carry a token: it is never in the repository, and never in a log line).
//! Delivery is tried three times, 1 and 2 s apart, in the background: a slow or dead
//! webhook never holds the daemon up. A failure is logged without the URL.

use std::time::Duration;

use tracing::{info, warn};

use crate::model::config::{SecretSource, Webhook, WebhookEvent};

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Posts `body` (to which `event`, `at` and `host` are added) to every webhook of `hooks`
/// that wants `event`, in the background.
pub fn notify(hooks: &[Webhook], event: WebhookEvent, mut body: serde_json::Value) {
    if let Some(map) = body.as_object_mut() {
        map.insert("event".into(), event.as_str().into());
        map.insert(
            "at".into(),
            crate::store::lock::utc(super::super::plan::now()).into(),
        );
        map.insert("host".into(), crate::store::this_host().into());
    }
    for (i, hook) in hooks.iter().enumerate() {
        if !hook.events.contains(&event) {
            continue;
        }
        let source = hook.url.clone();
        let body = body.to_string();
        tokio::task::spawn_blocking(move || deliver(i + 1, &source, event, &body));
    }
}

/// Reads the URL and POSTs `body`, up to three times.
fn deliver(n: usize, source: &SecretSource, event: WebhookEvent, body: &str) {
    let url = match source {
        SecretSource::File(path) => std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("cannot read its URL file {}: {}", path.display(), e.kind())),
        SecretSource::Env(var) => std::env::var(var)
            .map(|s| s.trim().to_string())
            .map_err(|_| format!("its URL variable {var} is not set")),
    };
    let url = match url {
        Ok(u) if !u.is_empty() => u,
        Ok(_) => return warn!("webhook {n}: its URL is empty; {} not sent", event.as_str()),
        Err(why) => return warn!("webhook {n}: {why}; {} not sent", event.as_str()),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .build()
        .into();
    let mut why = String::new();
    for attempt in 1..=3u64 {
        let sent = agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body);
        match sent {
            Ok(_) => return info!("webhook {n}: {} delivered", event.as_str()),
            Err(e) => why = describe(&e),
        }
        if attempt < 3 {
            std::thread::sleep(Duration::from_secs(attempt));
        }
    }
    warn!(
        "webhook {n}: {} not delivered after 3 tries: {why}",
        event.as_str()
    );
}

/// What went wrong, without the URL (it may carry a token).
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::StatusCode(code) => format!("it answered HTTP {code}"),
        ureq::Error::Timeout(_) => "no answer in time".into(),
        ureq::Error::HostNotFound => "its host name does not resolve".into(),
        ureq::Error::Io(io) => format!("connection failed ({})", io.kind()),
        ureq::Error::BadUri(_) => "its URL is not a valid URL".into(),
        _ => "the request failed".into(),
    }
}
