//! What a job's source may be when it comes through the API, where the caller is not the
//! operator: no fetching from the server's own network (SSRF) and no reading its files.
//!
//! - `http(s)://` hosts that resolve to a loopback, private, link-local, shared or
//!   otherwise non-public address are refused, unless the operator allowed the host.
//! - Object-store URLs (`s3://`, `gs://`, `az://`) go to the endpoints the operator
//!   configured (`AWS_ENDPOINT_URL`...), which are trusted.
//! - Local paths and `file://` are confined to the configured roots; `..` is refused
//!   outright, and symlinks are followed before the check.
//! - Standard input means nothing to a worker.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Component, Path, PathBuf};

use url::Url;

#[derive(Debug, Clone, Default)]
pub struct SourceGuard {
    /// Hosts (names or addresses, as in the URL) fetched even when they are private.
    pub allow_hosts: Vec<String>,
    /// Directories whose files jobs may load.
    pub file_roots: Vec<PathBuf>,
}

impl SourceGuard {
    /// Ok when a job may read `source`; otherwise why not.
    pub async fn check(&self, source: &str) -> Result<(), String> {
        if source == "-" {
            return Err("a job cannot read standard input; upload the file instead".into());
        }
        let Some((scheme, _)) = source.split_once("://") else {
            return self.check_path(Path::new(source));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "s3" | "s3a" | "gs" | "az" | "abfs" | "abfss" | "azure" => Ok(()),
            "file" => self.check_path(Path::new(&source[7..])),
            "http" | "https" => self.check_web(source).await,
            other => Err(format!("{other}:// is not a source scheme")),
        }
    }

    async fn check_web(&self, source: &str) -> Result<(), String> {
        let url = Url::parse(source).map_err(|e| format!("not a valid URL: {e}"))?;
        let Some(host) = url.host_str() else {
            return Err("the URL has no host".into());
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if self
            .allow_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(bare) || h.eq_ignore_ascii_case(host))
        {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<IpAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| format!("host {host} does not resolve: {e}"))?
                .map(|a| a.ip())
                .collect(),
        };
        match addrs.iter().find(|ip| !is_public(ip)) {
            Some(ip) => Err(format!(
                "host {host} is on a private network ({ip}); the operator may allow it with --allow-host"
            )),
            None if addrs.is_empty() => Err(format!("host {host} does not resolve")),
            None => Ok(()),
        }
    }

    fn check_path(&self, path: &Path) -> Result<(), String> {
        if path.components().any(|c| c == Component::ParentDir) {
            return Err("a source path may not contain `..`".into());
        }
        if self.file_roots.is_empty() {
            return Err(
                "local files are not readable through the API (the server has no --file-root); \
                 upload the file or put it in a bucket"
                    .into(),
            );
        }
        if !path.is_absolute() {
            return Err("a local source must be an absolute path".into());
        }
        // A glob's directory part is what must lie inside a root.
        let fixed: PathBuf = path
            .components()
            .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
            .collect();
        // Symlinks are resolved so a link inside a root cannot lead out of it; a file
        // that does not exist yet is checked by its nearest existing ancestor.
        let real = fixed
            .ancestors()
            .find_map(|a| std::fs::canonicalize(a).ok().map(|r| (a, r)))
            .map(|(a, r)| r.join(fixed.strip_prefix(a).unwrap_or(Path::new(""))))
            .unwrap_or(fixed);
        let inside = self.file_roots.iter().any(|root| {
            std::fs::canonicalize(root)
                .map(|root| real.starts_with(root))
                .unwrap_or(false)
        });
        if inside {
            Ok(())
        } else {
            Err(format!(
                "{} is outside the directories jobs may read (--file-root)",
                path.display()
            ))
        }
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local,
/// shared (carrier NAT), unspecified, multicast, broadcast or reserved for documentation.
fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(&v4);
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)) // documentation
        }
    }
}

fn is_public_v4(ip: &Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(roots: &[&Path]) -> SourceGuard {
        SourceGuard {
            allow_hosts: vec!["files.internal".into()],
            file_roots: roots.iter().map(|r| r.to_path_buf()).collect(),
        }
    }

    async fn refused(g: &SourceGuard, source: &str) -> String {
        g.check(source)
            .await
            .expect_err(&format!("{source} should be refused"))
    }

    #[tokio::test]
    async fn private_hosts_are_refused() {
        let g = guard(&[]);
        for url in [
            "http://127.0.0.1:8080/x.csv",
            "http://localhost/x.csv",
            "http://169.254.169.254/latest/meta-data/",
            "https://10.1.2.3/x.csv?sig=1",
            "http://192.168.0.1/x.csv",
            "http://[::1]/x.csv",
            "http://[fd00::1]/x.csv",
            "http://[::ffff:127.0.0.1]/x.csv",
            "http://100.64.0.1/x.csv",
            "http://0.0.0.0/x.csv",
        ] {
            assert!(refused(&g, url).await.contains("private network"), "{url}");
        }
        assert!(g.check("http://8.8.8.8/x.csv").await.is_ok());
        assert!(g.check("s3://landing/in/x.csv").await.is_ok());
        assert!(refused(&g, "gopher://x/y").await.contains("scheme"));
        assert!(refused(&g, "-").await.contains("standard input"));
    }

    #[tokio::test]
    async fn allowed_hosts_pass() {
        let mut g = guard(&[]);
        g.allow_hosts.push("127.0.0.1".into());
        assert!(g.check("http://127.0.0.1:9/x.csv").await.is_ok());
        assert!(
            refused(&g, "http://127.0.0.2/x.csv")
                .await
                .contains("private")
        );
    }

    #[tokio::test]
    async fn files_stay_inside_their_roots() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("in.csv"), "a\n").unwrap();
        std::fs::write(outside.path().join("secret.csv"), "a\n").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
        let g = guard(&[root.path()]);
        let inside = root.path().join("in.csv");
        assert!(g.check(&inside.display().to_string()).await.is_ok());
        assert!(
            g.check(&format!("file://{}", inside.display()))
                .await
                .is_ok()
        );
        assert!(
            g.check(&format!("{}/sub/*.csv", root.path().display()))
                .await
                .is_ok()
        );
        let escape = format!("{}/../x.csv", root.path().display());
        assert!(refused(&g, &escape).await.contains(".."));
        let linked = format!("{}/link/secret.csv", root.path().display());
        assert!(refused(&g, &linked).await.contains("outside"));
        let other = outside.path().join("secret.csv").display().to_string();
        assert!(refused(&g, &other).await.contains("outside"));
        assert!(refused(&g, "/etc/passwd").await.contains("outside"));
        assert!(refused(&g, "relative.csv").await.contains("absolute"));
        assert!(
            refused(&guard(&[]), &inside.display().to_string())
                .await
                .contains("--file-root")
        );
    }
}
