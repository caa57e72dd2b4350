//! API base URLs: the *logical* URL (what credentials and `GET /` name, e.g.
//! `https://api.cf.eu10.hana.ondemand.com`) and the *physical* URL requests go to. They differ only
//! when [`ClientConfig::api_url`](crate::ClientConfig::api_url) routes every API to one base URL
//! (the simulator or a sandbox); then the logical origin is replaced and the path kept.
//!
//! Links from responses (`pagination.next.href`, `Location`) are followed only when they point at
//! the endpoint's own logical or physical origin: a response must not be able to send our bearer
//! token to another host.

use std::net::IpAddr;

use url::Url;

use crate::error::Error;
use crate::http::redact;

/// Refuses anything but `https://`, except plain `http://` to a loopback address.
pub(crate) fn check_scheme(url: &Url) -> Result<(), Error> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(Error::Url {
            url: redact::url_for_display(url),
            reason: "plain http is only allowed to loopback addresses",
        }),
        _ => Err(Error::Url {
            url: redact::url_for_display(url),
            reason: "not an https URL",
        }),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Parses a URL given by a user or a credential, naming it in the error.
pub(crate) fn parse(text: &str) -> Result<Url, Error> {
    let url = Url::parse(text.trim()).map_err(|_| Error::Url {
        url: redact::redact_text(text),
        reason: "not a valid URL",
    })?;
    check_scheme(&url)?;
    Ok(url)
}

/// `host:port` of a URL, the key of the per-host limiter.
pub(crate) fn host_key(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => String::new(),
    }
}

/// One API's base URL, logical and physical.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    logical: Url,
    physical: Url,
}

impl Endpoint {
    /// An endpoint for `base`, routed to `route` if one is configured.
    pub(crate) fn new(base: &Url, route: Option<&Url>) -> Result<Self, Error> {
        check_scheme(base)?;
        let logical = without_trailing_slash(base);
        let physical = match route {
            Some(route) => {
                check_scheme(route)?;
                let mut physical = without_trailing_slash(route);
                let path = format!(
                    "{}{}",
                    physical.path().trim_end_matches('/'),
                    logical.path()
                );
                physical.set_path(&path);
                physical
            }
            None => logical.clone(),
        };
        Ok(Endpoint { logical, physical })
    }

    /// The physical URL of `path` (which starts with `/` and may end in `?query`) under this
    /// endpoint.
    pub(crate) fn url(&self, path: &str) -> Url {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut url = self.physical.clone();
        let joined = format!("{}{}", self.physical.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url.set_query(if query.is_empty() { None } else { Some(query) });
        url
    }

    /// The physical URL of a link from a response: absolute (CF hrefs and `Location`) or a path
    /// (Service Manager `Location`). Refused if it points to another origin.
    pub(crate) fn resolve(&self, href: &str) -> Result<Url, Error> {
        let href = href.trim();
        if href.starts_with('/') && !href.starts_with("//") {
            let mut url = self.physical.clone();
            let (path, query) = href.split_once('?').unwrap_or((href, ""));
            url.set_path(path);
            url.set_query(if query.is_empty() { None } else { Some(query) });
            return Ok(url);
        }
        let link = Url::parse(href).map_err(|_| Error::Url {
            url: redact::redact_text(href),
            reason: "a link in a response is not a valid URL",
        })?;
        if link.origin() == self.physical.origin() {
            return Ok(link);
        }
        if link.origin() == self.logical.origin() {
            let mut url = self.physical.clone();
            let logical_prefix = self.logical.path().trim_end_matches('/');
            let rest = link
                .path()
                .strip_prefix(logical_prefix)
                .unwrap_or(link.path());
            let path = format!("{}{}", self.physical.path().trim_end_matches('/'), rest);
            url.set_path(&path);
            url.set_query(link.query());
            return Ok(url);
        }
        Err(Error::Url {
            url: redact::url_for_display(&link),
            reason: "a link in a response points outside the configured API hosts",
        })
    }

    /// The logical base URL.
    pub(crate) fn logical(&self) -> &Url {
        &self.logical
    }

    /// The `Host` a routed request names: the logical host (with its port when not the scheme's
    /// default), so that one simulator behind the routing URL can serve many hosts, as BTP's
    /// landscapes are (crates/btp-sim/README.md, "Landscapes"). `None` when not routed.
    pub(crate) fn host_header(&self) -> Option<String> {
        if self.logical.origin() == self.physical.origin() {
            return None;
        }
        let host = self.logical.host_str()?;
        Some(match self.logical.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        })
    }
}

fn without_trailing_slash(url: &Url) -> Url {
    let mut url = url.clone();
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("test URL parses")
    }

    #[test]
    fn a_routed_endpoint_names_its_logical_host() {
        let base = url("https://api.cf.eu10-004.hana.ondemand.com");
        let routed = Endpoint::new(&base, Some(&url("http://127.0.0.1:9000"))).expect("routed");
        assert_eq!(
            routed.host_header().as_deref(),
            Some("api.cf.eu10-004.hana.ondemand.com")
        );
        let direct = Endpoint::new(&base, None).expect("direct");
        assert_eq!(direct.host_header(), None);
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_scheme(&url("https://api.cf.eu10.hana.ondemand.com")).is_ok());
        assert!(check_scheme(&url("http://127.0.0.1:8080")).is_ok());
        assert!(check_scheme(&url("http://[::1]:8080")).is_ok());
        assert!(check_scheme(&url("http://localhost:1")).is_ok());
        assert!(check_scheme(&url("http://api.cf.eu10.hana.ondemand.com")).is_err());
        assert!(check_scheme(&url("http://127.0.0.1.evil.example")).is_err());
        assert!(check_scheme(&url("ftp://127.0.0.1")).is_err());
    }

    #[test]
    fn routing_keeps_the_path_and_maps_links() {
        let base = url("https://api.cf.eu10.hana.ondemand.com/");
        let route = url("http://127.0.0.1:4000");
        let endpoint = Endpoint::new(&base, Some(&route)).expect("valid");
        assert_eq!(
            endpoint.url("/v3/spaces").as_str(),
            "http://127.0.0.1:4000/v3/spaces"
        );
        assert_eq!(
            endpoint.url("/v1/x?async=true").as_str(),
            "http://127.0.0.1:4000/v1/x?async=true"
        );
        let next = endpoint
            .resolve("https://api.cf.eu10.hana.ondemand.com/v3/spaces?page=2&per_page=5000")
            .expect("same logical origin");
        assert_eq!(
            next.as_str(),
            "http://127.0.0.1:4000/v3/spaces?page=2&per_page=5000"
        );
        let relative = endpoint
            .resolve("/v1/service_instances/1/operations/2")
            .expect("path");
        assert_eq!(
            relative.as_str(),
            "http://127.0.0.1:4000/v1/service_instances/1/operations/2"
        );
    }

    #[test]
    fn links_to_other_hosts_are_refused() {
        let base = url("https://api.cf.eu10.hana.ondemand.com");
        let endpoint = Endpoint::new(&base, None).expect("valid");
        assert!(endpoint.resolve("https://evil.example/v3/jobs/1").is_err());
        assert!(endpoint.resolve("//evil.example/v3/jobs/1").is_err());
        assert!(
            endpoint
                .resolve("http://api.cf.eu10.hana.ondemand.com/v3/jobs/1")
                .is_err()
        );
        assert!(
            endpoint
                .resolve("https://api.cf.eu10.hana.ondemand.com/v3/jobs/1")
                .is_ok()
        );
    }
}
