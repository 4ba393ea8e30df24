//! Where the server is: `--url`, else `OLLAMA_HOST` read the way Ollama's
//! own client reads it (scheme optional, `host`, `host:port`, `:port`,
//! brackets for IPv6; `http://host` without a port means port 80), else
//! `http://127.0.0.1:11434`. A wildcard bind address (0.0.0.0, ::) is
//! where the server listens, not an address to connect to: the check uses
//! loopback instead. Credentials in a URL (`http://user:pass@proxy`) are
//! sent as HTTP Basic auth and never shown: not in messages, names,
//! labels or the state file's name.

pub use crate::credentials::{Credentials, redact};
use std::net::IpAddr;

/// Longest host accepted (a DNS name is at most 253 characters).
const HOST_MAX: usize = 253;
/// Longest path prefix accepted (what a proxy needs, such as `/ollama`).
const PATH_MAX: usize = 200;

pub const DEFAULT_URL: &str = "http://127.0.0.1:11434";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host as written, without brackets (`127.0.0.1`, `::1`, `gpu-box`).
    pub host: String,
    pub port: u16,
    /// `http://host:port` (and any path prefix a proxy needs), no trailing
    /// `/`, never with credentials.
    pub base: String,
    pub auth: Option<Credentials>,
}

impl Target {
    /// `host:port`, bracketed for IPv6: how messages name it.
    #[must_use]
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    #[must_use]
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Whether processes and sockets of this server can be looked at here.
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
    }

    /// A name for the state file: `127.0.0.1-11434`.
    #[must_use]
    pub fn state_name(&self) -> String {
        let host: String = self
            .host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{host}-{}", self.port)
    }
}

/// The URL from the `OLLAMA_HOST` variable's raw value: text that is not
/// UTF-8 is an error, not "unset" (the check would watch another address).
pub fn from_ollama_host_os(value: Option<&std::ffi::OsStr>) -> Result<Target, String> {
    match value.map(std::ffi::OsStr::to_str) {
        Some(None) => Err(
            "OLLAMA_HOST is not valid UTF-8: set it to the server's address, e.g. 127.0.0.1:11434"
                .to_owned(),
        ),
        Some(Some(text)) => from_ollama_host(Some(text)),
        None => from_ollama_host(None),
    }
}

/// The URL from `OLLAMA_HOST`'s value, or the default when it is unset or blank.
pub fn from_ollama_host(value: Option<&str>) -> Result<Target, String> {
    match value.map(|v| v.trim().trim_matches(['"', '\''])) {
        Some(v) if !v.is_empty() => {
            parse(v).map_err(|e| format!("OLLAMA_HOST={:?}: {e}", redact(v)))
        }
        _ => parse(DEFAULT_URL),
    }
}

/// Parses `[http://]host[:port][/path]`, the forms `OLLAMA_HOST` takes.
pub fn parse(text: &str) -> Result<Target, String> {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("http".to_owned(), text),
    };
    let default_port = match (scheme.as_str(), text.contains("://")) {
        ("http", false) => 11434,
        ("http", true) => 80,
        ("https", _) => {
            return Err("https is not supported: give the plain http address of the server or of a local proxy".into());
        }
        (other, _) => {
            let other = crate::api::clip(other, 20);
            return Err(format!("unknown scheme {other:?}: use http://host:port"));
        }
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (auth, hostport) = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => (Some(Credentials::from_userinfo(userinfo)), hostport),
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostport, default_port)?;
    check_host(&host)?;
    if path.len() > PATH_MAX {
        return Err(format!(
            "the path after the address is {} characters long: give http://host:port[/prefix] \
             with a prefix of at most {PATH_MAX}",
            path.len()
        ));
    }
    if let Some(bad) = path.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "the path after the address has {bad:?} in it: give http://host:port[/prefix] in plain ASCII"
        ));
    }
    let host = match host.as_str() {
        "" | "0.0.0.0" => "127.0.0.1".to_owned(),
        "::" => "::1".to_owned(),
        _ => host,
    };
    let mut target = Target {
        host,
        port,
        base: String::new(),
        auth,
    };
    let path = path.trim_end_matches('/');
    target.base = if path.is_empty() {
        format!("http://{}", target.authority())
    } else {
        format!("http://{}/{path}", target.authority())
    };
    Ok(target)
}

/// A DNS name or an IP address: nothing a URL, a file name or a metric
/// label would take for something else.
fn check_host(host: &str) -> Result<(), String> {
    let fine = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%');
    if host.len() > HOST_MAX || !host.chars().all(fine) {
        return Err(format!(
            "invalid host {:?} ({} characters): give a host name or IP address",
            crate::api::clip(host, 60),
            host.chars().count()
        ));
    }
    Ok(())
}

fn split_host_port(hostport: &str, default_port: u16) -> Result<(String, u16), String> {
    let bad_port = |p: &str| {
        let p = crate::api::clip(p, 20);
        format!("invalid port {p:?}: use a number 1-65535")
    };
    if let Some(inner) = hostport.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| format!("unclosed '[' in {:?}", crate::api::clip(hostport, 60)))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad_port(p))?,
            None => default_port,
        };
        return Ok((host.to_owned(), port));
    }
    // A bare IPv6 address has several colons and no port.
    if hostport.matches(':').count() > 1 {
        return Ok((hostport.to_owned(), default_port));
    }
    match hostport.split_once(':') {
        Some((host, p)) => {
            let port: u16 = p.parse().map_err(|_| bad_port(p))?;
            if port == 0 {
                return Err(bad_port(p));
            }
            Ok((host.to_owned(), port))
        }
        None => Ok((hostport.to_owned(), default_port)),
    }
}

/// A `--url` or `--hop` value, judged when the run starts rather than by
/// clap, whose message would repeat the value (and a password in it).
#[derive(Debug, Clone)]
pub struct Given<T>(pub Result<T, String>);

/// `--url` for clap: never fails there.
#[allow(clippy::unnecessary_wraps)] // clap's value parser signature
pub fn given(text: &str) -> Result<Given<Target>, String> {
    Ok(Given(parse(text)))
}

/// `--hop` for clap: never fails there.
#[allow(clippy::unnecessary_wraps)] // clap's value parser signature
pub fn given_hop(text: &str) -> Result<Given<(String, Target)>, String> {
    Ok(Given(parse_hop(text)))
}

/// `--hop NAME=URL`.
pub fn parse_hop(text: &str) -> Result<(String, Target), String> {
    let (name, url) = text
        .split_once('=')
        .filter(|(n, u)| !n.is_empty() && !u.is_empty())
        .ok_or_else(|| {
            format!(
                "invalid hop {:?}: write NAME=URL, e.g. proxy=http://172.30.0.11:11434",
                redact(text)
            )
        })?;
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-".contains(*c)))
    {
        return Err(format!(
            "invalid hop name {:?} ({bad:?}): use letters, digits, '.', '_' or '-'",
            crate::api::clip(name, 40)
        ));
    }
    let target = parse(url).map_err(|e| format!("--hop {name}={}: {e}", redact(url)))?;
    Ok((name.to_owned(), target))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(text: &str) -> String {
        parse(text).unwrap().base
    }

    #[test]
    fn ollama_host_forms_resolve_like_ollama_reads_them() {
        assert_eq!(
            from_ollama_host(None).unwrap().base,
            "http://127.0.0.1:11434"
        );
        assert_eq!(
            from_ollama_host(Some("  ")).unwrap().base,
            "http://127.0.0.1:11434"
        );
        assert_eq!(base("0.0.0.0"), "http://127.0.0.1:11434");
        assert_eq!(base("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(base(":9999"), "http://127.0.0.1:9999");
        assert_eq!(base("gpu-box"), "http://gpu-box:11434");
        assert_eq!(base("http://gpu-box"), "http://gpu-box:80");
        assert_eq!(base("HTTP://10.0.0.5:11434/"), "http://10.0.0.5:11434");
        assert_eq!(base("[::]:11434"), "http://[::1]:11434");
        assert_eq!(base("::1"), "http://[::1]:11434");
        assert_eq!(base("proxy:8080/ollama"), "http://proxy:8080/ollama");
        assert_eq!(from_ollama_host(Some("\"127.0.0.1:1\"")).unwrap().port, 1);
    }

    #[test]
    fn bad_values_say_what_to_write() {
        assert!(parse("host:abc").unwrap_err().contains("\"abc\""));
        assert!(parse("host:0").is_err());
        assert!(parse("https://x").unwrap_err().contains("https"));
        assert!(parse("ftp://x").unwrap_err().contains("ftp"));
        assert!(
            from_ollama_host(Some("h:99999"))
                .unwrap_err()
                .contains("OLLAMA_HOST")
        );
        assert!(parse_hop("proxy").unwrap_err().contains("NAME=URL"));
        let (name, hop) = parse_hop("proxy=172.30.0.11:11434").unwrap();
        assert_eq!(
            (name.as_str(), hop.authority().as_str()),
            ("proxy", "172.30.0.11:11434")
        );
    }

    #[test]
    fn loopback_and_state_names() {
        assert!(parse("localhost:1").unwrap().is_loopback());
        assert!(parse("0.0.0.0").unwrap().is_loopback());
        assert!(!parse("192.168.50.94").unwrap().is_loopback());
        assert_eq!(parse("::1").unwrap().state_name(), "__1-11434");
        assert_eq!(parse("127.0.0.1:80").unwrap().state_name(), "127.0.0.1-80");
    }

    #[test]
    fn credentials_go_to_a_header_never_to_names() {
        let t = parse("http://user:s3cret@proxy:8080/ollama").unwrap();
        assert_eq!(t.base, "http://proxy:8080/ollama");
        assert_eq!(t.state_name(), "proxy-8080");
        assert_eq!(t.auth.as_ref().unwrap().header(), "Basic dXNlcjpzM2NyZXQ=");
        assert!(!format!("{t:?}").contains("s3cret"));
    }

    #[test]
    fn hosts_and_paths_are_plain_and_short() {
        for bad in ["h\u{1}:1", "host name", "h/\u{7}", &"a".repeat(300)] {
            let err = parse(bad).unwrap_err();
            assert!(err.len() < 300 && !err.contains('\u{1}'), "{err}");
        }
        assert!(parse(&format!("h:1/{}", "p".repeat(300))).is_err());
        assert!(parse_hop("a b=h:1").is_err());
    }
}
