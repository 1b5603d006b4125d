//! Who may do what: two bearer tokens (roles `read` and `operate`), compared
//! in constant time; changes only by POST from the dashboard's own origin.

use axum::http::{header, HeaderMap, Method};
use xbot_core::content::sha256_hex;

/// What a request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    None,
    Read,
    Operate,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::None => "none",
            Role::Read => "read",
            Role::Operate => "operate",
        }
    }
}

/// A configured token, kept only as its SHA-256 (the secret itself is never
/// stored, printed or logged); `label` names it in the audit log.
#[derive(Clone)]
struct Token {
    digest: String,
    label: String,
}

/// The dashboard's tokens, from `XBOT_DASHBOARD_TOKEN` (operate) and
/// `XBOT_DASHBOARD_READ_TOKEN` (read).
#[derive(Clone, Default)]
pub struct Tokens {
    operate: Option<Token>,
    read: Option<Token>,
}

/// Says which tokens are set, never what they are.
impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |t: &Option<Token>| t.as_ref().map_or("unset", |_| "set");
        f.debug_struct("Tokens")
            .field("operate", &set(&self.operate))
            .field("read", &set(&self.read))
            .finish()
    }
}

/// Shortest token accepted: a guessable one would guard nothing.
pub const MIN_TOKEN_LEN: usize = 16;

impl Tokens {
    pub fn new(operate: Option<&str>, read: Option<&str>) -> Result<Tokens, String> {
        let make = |var: &str, role: &str, t: Option<&str>| -> Result<Option<Token>, String> {
            match t {
                None | Some("") => Ok(None),
                Some(t) if t.chars().count() < MIN_TOKEN_LEN || t.chars().any(char::is_whitespace) => Err(format!(
                    "{var} must be at least {MIN_TOKEN_LEN} characters without whitespace (e.g. `openssl rand -hex 24`)"
                )),
                Some(t) => {
                    let digest = sha256_hex(t);
                    // The label shows which token acted, not the token.
                    let label = format!("{role}:{}", &digest[..8]);
                    Ok(Some(Token { digest, label }))
                }
            }
        };
        let tokens = Tokens {
            operate: make("XBOT_DASHBOARD_TOKEN", "operate", operate)?,
            read: make("XBOT_DASHBOARD_READ_TOKEN", "read", read)?,
        };
        if let (Some(o), Some(r)) = (&tokens.operate, &tokens.read) {
            if o.digest == r.digest {
                return Err(
                    "XBOT_DASHBOARD_READ_TOKEN must differ from XBOT_DASHBOARD_TOKEN".into(),
                );
            }
        }
        Ok(tokens)
    }

    pub fn from_env() -> Result<Tokens, String> {
        let var = |k: &str| std::env::var(k).ok();
        Tokens::new(
            var("XBOT_DASHBOARD_TOKEN").as_deref(),
            var("XBOT_DASHBOARD_READ_TOKEN").as_deref(),
        )
    }

    /// Without an operate token nothing can change anything.
    pub fn read_only(&self) -> bool {
        self.operate.is_none()
    }

    /// With a read token, reading needs a token too.
    pub fn reads_need_token(&self) -> bool {
        self.read.is_some()
    }

    /// The role of a request's `Authorization: Bearer …`, and its label.
    pub fn role(&self, headers: &HeaderMap) -> (Role, Option<String>) {
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return (Role::None, None);
        };
        let given = sha256_hex(given.trim());
        // Both compared every time, each in constant time.
        let op = self
            .operate
            .as_ref()
            .is_some_and(|t| same(&t.digest, &given));
        let rd = self.read.as_ref().is_some_and(|t| same(&t.digest, &given));
        match (op, rd) {
            (true, _) => (
                Role::Operate,
                self.operate.as_ref().map(|t| t.label.clone()),
            ),
            (false, true) => (Role::Read, self.read.as_ref().map(|t| t.label.clone())),
            _ => (Role::None, None),
        }
    }
}

/// Equal hex digests, in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether a state-changing request comes from the dashboard's own page:
/// a browser marks cross-site requests (`Sec-Fetch-Site`) and names their
/// origin (`Origin`); either one from elsewhere is refused. Returns why not.
pub fn same_origin(method: &Method, headers: &HeaderMap) -> Result<(), String> {
    if method != Method::POST {
        return Err(format!("{method} cannot change anything: use POST"));
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return Err(format!(
                "cross-site request refused (Sec-Fetch-Site: {site})"
            ));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let ok = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| !host.is_empty() && o == host);
        if !ok {
            return Err(format!("cross-origin request refused (Origin: {origin})"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const OP: &str = "operate-token-0123456789";
    const RD: &str = "read-token-0123456789abc";

    #[test]
    fn roles_come_from_the_bearer_token() {
        let t = Tokens::new(Some(OP), Some(RD)).unwrap();
        let role = |auth: &str| t.role(&headers(&[("authorization", auth)])).0;
        assert_eq!(role(&format!("Bearer {OP}")), Role::Operate);
        assert_eq!(role(&format!("Bearer {RD}")), Role::Read);
        assert_eq!(role("Bearer nope-nope-nope-nope"), Role::None);
        assert_eq!(role(OP), Role::None, "no Bearer prefix");
        assert_eq!(t.role(&HeaderMap::new()).0, Role::None);
        let (_, label) = t.role(&headers(&[("authorization", &format!("Bearer {OP}"))]));
        let label = label.unwrap();
        assert!(
            label.starts_with("operate:") && !label.contains(OP),
            "{label}"
        );
    }

    #[test]
    fn weak_or_equal_tokens_are_refused() {
        assert!(Tokens::new(Some("short"), None)
            .unwrap_err()
            .contains("at least 16"));
        assert!(Tokens::new(Some("has a space in it, long enough"), None).is_err());
        assert!(Tokens::new(Some(OP), Some(OP))
            .unwrap_err()
            .contains("must differ"));
        let none = Tokens::new(None, Some("")).unwrap();
        assert!(none.read_only() && !none.reads_need_token());
    }

    #[test]
    fn only_same_origin_posts_pass() {
        let host = ("host", "127.0.0.1:8080");
        assert!(same_origin(&Method::POST, &headers(&[host])).is_ok());
        assert!(same_origin(
            &Method::POST,
            &headers(&[
                host,
                ("origin", "http://127.0.0.1:8080"),
                ("sec-fetch-site", "same-origin")
            ])
        )
        .is_ok());
        assert!(same_origin(
            &Method::POST,
            &headers(&[host, ("origin", "http://evil.example")])
        )
        .is_err());
        assert!(same_origin(
            &Method::POST,
            &headers(&[host, ("sec-fetch-site", "cross-site")])
        )
        .is_err());
        assert!(same_origin(&Method::POST, &headers(&[host, ("origin", "null")])).is_err());
        assert!(same_origin(&Method::GET, &headers(&[host])).is_err());
    }
}
