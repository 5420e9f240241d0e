//! `itau-codigo health [--url URL] [--timeout SECONDS]`: one HTTP/1.1 GET over a plain
//! TCP connection, healthy when the answer's status is 200. It exists for container
//! health checks: a `FROM scratch` image has no curl, and the binary is already there.
//! It sends no credentials (the probes need none) and speaks no TLS.

use std::fmt;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use super::Seconds;
use crate::exit::{EXIT_INVALID, fail};

/// The readiness probe of a service on the default port, as seen from inside its
/// container.
const DEFAULT_HEALTH_URL: &str = "http://127.0.0.1:8080/readyz";

/// The most of the answer read while looking for its status line.
const MAX_STATUS_LINE: usize = 8 * 1024;

/// `health` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 the URL answered 200, 1 any other answer or none, 2 usage error."
)]
pub struct HealthArgs {
    /// The URL to GET: http://HOST, then :PORT and /PATH if needed (plain HTTP; no user or
    /// password).
    #[arg(long, env = "ITAU_CODIGO_URL", default_value = DEFAULT_HEALTH_URL, value_parser = HttpUrl::parse)]
    pub url: HttpUrl,
    /// Seconds the whole check may take: connecting, sending, and the status line.
    #[arg(long, env = "ITAU_CODIGO_TIMEOUT", default_value = "2", value_parser = Seconds::parse)]
    pub timeout: Seconds,
}

pub(super) fn run(args: &HealthArgs) -> ExitCode {
    match check(&args.url, args.timeout.0) {
        Ok(status_line) if status_code(&status_line) == Some(200) => {
            println!("{}: {status_line}", args.url);
            ExitCode::SUCCESS
        }
        Ok(status_line) => fail(
            EXIT_INVALID,
            format_args!("{}: answered {status_line}", args.url),
        ),
        Err(reason) => fail(EXIT_INVALID, format_args!("{}: {reason}", args.url)),
    }
}

/// A plain-HTTP URL, split into what a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// The host as written (brackets of an IPv6 literal removed).
    host: String,
    port: u16,
    /// The `Host` header: the authority as written.
    authority: String,
    /// The request target: path and query, `/` when the URL has none.
    target: String,
}

impl HttpUrl {
    fn parse(url: &str) -> Result<Self, String> {
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => {
                return Err(
                    "https is not supported: check the plain-HTTP listener (serve without --tls-cert) or use an HTTPS client".to_owned(),
                );
            }
            _ => return Err(format!("expected http://HOST[:PORT][/PATH], found {url:?}")),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, target) = match rest.find(['/', '?']) {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
        let target = match target {
            "" => "/".to_owned(),
            query if query.starts_with('?') => format!("/{query}"),
            path => path.to_owned(),
        };
        if !target.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(format!(
                "the path must be visible ASCII (percent-encode the rest), found {target:?}"
            ));
        }
        if authority.contains('@') {
            return Err(
                "the URL must hold no user or password: health sends no credentials".to_owned(),
            );
        }
        let (host, port) = split_host_port(authority)
            .ok_or_else(|| format!("expected HOST or HOST:PORT, found {authority:?}"))?;
        Ok(Self {
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            target,
        })
    }

    /// The addresses to try. `localhost` is the loopback addresses without asking the
    /// resolver: a static binary in a `FROM scratch` image has no resolver files.
    fn addresses(&self) -> Result<Vec<SocketAddr>, String> {
        if self.host.eq_ignore_ascii_case("localhost") {
            return Ok(vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.port),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), self.port),
            ]);
        }
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map(Iterator::collect)
            .map_err(|error| format!("cannot resolve {}: {error}", self.host))
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority, self.target)
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to 80.
fn split_host_port(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        host.parse::<Ipv6Addr>().ok()?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let valid_host = !host.is_empty()
        && host
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".-_:".contains(&byte));
    let port = match port {
        None => 80,
        Some(port) => port.parse().ok().filter(|&port| port != 0)?,
    };
    valid_host.then_some((host, port))
}

/// Sends the GET and returns the answer's status line, all within `timeout`.
fn check(url: &HttpUrl, timeout: Duration) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    let remaining = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| format!("no answer within {} s", timeout.as_secs_f64()))
    };
    let mut last_error = None;
    let mut stream = None;
    for address in url.addresses()? {
        match TcpStream::connect_timeout(&address, remaining()?) {
            Ok(connected) => {
                stream = Some(connected);
                break;
            }
            Err(error) => last_error = Some(format!("cannot connect to {address}: {error}")),
        }
    }
    let mut stream = stream
        .ok_or_else(|| last_error.unwrap_or_else(|| format!("{} has no address", url.host)))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: itau-codigo-health/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.target,
        url.authority,
        super::PACKAGE_VERSION
    );
    let io_error = |error: std::io::Error| match error.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            format!("no answer within {} s", timeout.as_secs_f64())
        }
        _ => format!("connection failed: {error}"),
    };
    stream
        .set_write_timeout(Some(remaining()?))
        .map_err(io_error)?;
    stream.write_all(request.as_bytes()).map_err(io_error)?;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        if let Some(end) = answer.windows(2).position(|pair| pair == b"\r\n") {
            return Ok(String::from_utf8_lossy(&answer[..end]).into_owned());
        }
        if answer.len() > MAX_STATUS_LINE {
            return Err("the answer has no HTTP status line".to_owned());
        }
        stream
            .set_read_timeout(Some(remaining()?))
            .map_err(io_error)?;
        match stream.read(&mut buffer).map_err(io_error)? {
            0 if answer.is_empty() => {
                return Err("the connection closed without an answer".to_owned());
            }
            0 => return Err("the answer has no HTTP status line".to_owned()),
            read => answer.extend_from_slice(&buffer[..read]),
        }
    }
}

/// The status of `HTTP/1.x SSS reason`, or `None` for anything else.
fn status_code(status_line: &str) -> Option<u16> {
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next()?;
    let code = parts.next()?;
    (version.starts_with("HTTP/1.") && code.len() == 3)
        .then(|| code.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_target() {
        let url = HttpUrl::parse("http://127.0.0.1:8080/readyz").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("127.0.0.1", 8080));
        assert_eq!(url.target, "/readyz");
        assert_eq!(url.to_string(), "http://127.0.0.1:8080/readyz");

        let url = HttpUrl::parse("HTTP://[::1]:9000?x=1#frag").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 9000));
        assert_eq!(
            (url.authority.as_str(), url.target.as_str()),
            ("[::1]:9000", "/?x=1")
        );

        let url = HttpUrl::parse("http://service.local").unwrap();
        assert_eq!((url.port, url.target.as_str()), (80, "/"));
    }

    #[test]
    fn urls_that_health_cannot_check_are_refused() {
        for url in [
            "https://127.0.0.1/readyz",
            "127.0.0.1:8080/readyz",
            "ftp://host/",
            "http://user:secret@127.0.0.1/readyz",
            "http:///readyz",
            "http://127.0.0.1:0/",
            "http://127.0.0.1:99999/",
            "http://[::1/",
            "http://[nope]:80/",
            "http://host/a path",
        ] {
            assert!(HttpUrl::parse(url).is_err(), "{url} was accepted");
        }
    }

    #[test]
    fn only_an_http_1_status_line_has_a_status() {
        assert_eq!(status_code("HTTP/1.1 200 OK"), Some(200));
        assert_eq!(status_code("HTTP/1.0 503 Service Unavailable"), Some(503));
        assert_eq!(status_code("HTTP/1.1 200"), Some(200));
        assert_eq!(status_code("SSH-2.0-OpenSSH"), None);
        assert_eq!(status_code("HTTP/1.1 2000 OK"), None);
    }
}
