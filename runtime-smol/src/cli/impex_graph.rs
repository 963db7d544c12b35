//! The import/export graph of `bagpipe-impex2dot` (reference §4.3): which VPN instance imports
//! and exports which route target, on one or more speakers, as a Graphviz digraph with the
//! node names, styles and layout hints of BaGPipe-BGP's tool.
//!
//! - RT nodes (orange circles), VRF and EVI record nodes (a VRF has a `readv` field);
//! - import edges RT → instance, export edges instance → RT;
//! - readvertise edges: from-RT → VRF's `readv` field → to-RT (dashed);
//! - attract-traffic: `readv` → an invisible point → redirect RT (FlowSpec routes, red dotted),
//!   and point → to-RT (the redirect action, red dashed);
//! - a stub per port, and a `dest_` box for ports named `to_<dest>_…`;
//! - EVI → VRF when the EVI is plugged into the VRF (`gateway_port`).

use super::ordered_json::Json;
use std::collections::BTreeSet;
use std::fmt::Write as _;

const RT_TXT_STYLE: &str = r#"color="orange",fontcolor="orange""#;
const RT_STYLE: &str = r#"color="orange",fontcolor="orange",arrowhead=onormal"#;
const RT_STYLE_REDIR_FROM_RT: &str = r#"color="orange",fontcolor="orange",style=dashed,arrowhead=diamond,arrowtail=oinv,headclip=false,dir=both"#;
const RT_STYLE_REDIR_TO_RT: &str = r#"color="orange",fontcolor="orange",style=dashed,arrowhead=onormal,tailclip=false,dir=both,arrowtail=oinv"#;
const RT_STYLE_FLOWSPEC: &str = r#"color="red",fontcolor="red",style=dotted"#;
const RT_STYLE_FLOWSPEC_INTER: &str =
    r#"color="red",fontcolor="red",style=dotted,arrowhead=none,dir=both,arrowtail=oinv"#;
const RT_STYLE_FLOWSPEC_ACTION: &str = r#"color="red",fontcolor="red",style=dashed"#;
const PORT_LINK_STYLE: &str = r#"style=dashed,dir=none,color="gray",weight=3"#;

/// Server name that gets no `[server]` line in node labels.
pub const DEFAULT_SERVER: &str = "localhost";

/// What the graph needs of one VPN instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instance {
    /// The looking glass it was read from.
    pub server: String,
    /// External instance id.
    pub id: String,
    /// `VRF`, `EVI` (first three characters of its name).
    pub kind: String,
    /// Imported RTs, as the looking glass writes them (`target:64512:1`).
    pub import_rts: Vec<String>,
    /// Exported RTs.
    pub export_rts: Vec<String>,
    /// `readvertise.from`.
    pub readvertise_from: Vec<String>,
    /// `readvertise.to`.
    pub readvertise_to: Vec<String>,
    /// `attract_traffic.redirect_rts`.
    pub redirect_rts: Vec<String>,
    /// `attract_traffic.to` (falls back to `readvertise.to`).
    pub attract_to: Vec<String>,
    /// Whether attract-traffic is on.
    pub attracts: bool,
    /// Port names.
    pub ports: Vec<String>,
    /// External id of the VRF this EVI is plugged into.
    pub gateway_vrf: Option<String>,
}

impl Instance {
    /// Reads an instance from its entry in `/vpns/instances` (`id`, `name`), its object
    /// (`/vpns/instances/<id>`) and its ports (`…/ports`, or the object's inline `ports`).
    pub fn from_looking_glass(
        server: &str,
        summary: &Json,
        object: &Json,
        ports: Option<&Json>,
    ) -> Option<Instance> {
        let id = summary.get("id")?.python_str();
        let name = summary
            .get("name")
            .or_else(|| object.get("name"))
            .map(Json::python_str)
            .unwrap_or_default();
        let kind: String = name.chars().take(3).collect();
        let rts = object.get("route_targets");
        let list = |v: Option<&Json>, key: &str| -> Vec<String> {
            v.and_then(|v| v.get(key))
                .map(|v| v.strings().into_iter().map(str::to_string).collect())
                .unwrap_or_default()
        };
        let readvertise = object.get("readvertise");
        // BaGPipe-BGP's looking glass has attract_traffic next to readvertise; its impex2dot
        // looked for it inside readvertise, which it never is. Both places are read.
        let attract = object
            .get("attract_traffic")
            .filter(|a| !a.is_falsy())
            .or_else(|| readvertise.and_then(|r| r.get("attract_traffic")))
            .filter(|a| !a.is_falsy());
        let mut attract_to = list(attract, "to");
        if attract_to.is_empty() {
            attract_to = list(attract, "to_rt");
        }
        if attract_to.is_empty() {
            attract_to = list(readvertise, "to");
        }
        let port_names = ports
            .or_else(|| object.get("ports").filter(|p| p.get("href").is_none()))
            .and_then(Json::as_object)
            .map(|members| members.iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default();
        let gateway_vrf = object
            .get("gateway_port")
            .and_then(|g| g.get("ipvpn"))
            .and_then(|v| v.get("external_instance_id"))
            .map(Json::python_str);
        Some(Instance {
            server: server.to_string(),
            id,
            kind,
            import_rts: list(rts, "import"),
            export_rts: list(rts, "export"),
            readvertise_from: list(readvertise, "from"),
            readvertise_to: list(readvertise, "to"),
            redirect_rts: list(attract, "redirect_rts"),
            attract_to,
            attracts: attract.is_some(),
            ports: port_names,
            gateway_vrf,
        })
    }

    fn has_readvertise(&self) -> bool {
        !self.readvertise_from.is_empty() || !self.readvertise_to.is_empty()
    }
}

/// `target:64512:1` → `rt_64512_1` (BaGPipe-BGP's `normalize`), then anything a Graphviz ID
/// cannot hold replaced by `_`.
pub fn normalize(text: &str) -> String {
    text.replace("target:", "rt:")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The node of a route target; `rt_` is added when the looking glass wrote the RT bare.
fn rt_node(rt: &str) -> String {
    let n = normalize(rt);
    if n.starts_with("rt_") {
        n
    } else {
        format!("rt_{n}")
    }
}

fn vpn_uid(server: &str, vpn: &str) -> String {
    format!("vpn_{}__{}", normalize(server), normalize(vpn))
}

/// `abcd..vwxyz` for ids longer than 11 characters.
fn vpn_short(vpn: &str) -> String {
    let chars: Vec<char> = vpn.chars().collect();
    if chars.len() > 11 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 5..].iter().collect();
        format!("{head}..{tail}")
    } else {
        vpn.to_string()
    }
}

/// Escapes text for a record label (quotes and the record syntax characters).
fn record_text(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\"{}|<>\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn server_spec(server: &str) -> String {
    if server == DEFAULT_SERVER {
        String::new()
    } else {
        format!("\\n[{}]", record_text(server))
    }
}

/// The digraph of `instances` (sorted by server and id for a stable output).
pub fn render(instances: &[Instance]) -> String {
    let mut vpns: Vec<&Instance> = instances.iter().collect();
    vpns.sort_by(|a, b| (&a.server, &a.id).cmp(&(&b.server, &b.id)));
    let mut rts: BTreeSet<String> = BTreeSet::new();
    for vpn in &vpns {
        for rt in vpn
            .import_rts
            .iter()
            .chain(&vpn.export_rts)
            .chain(&vpn.readvertise_from)
            .chain(&vpn.readvertise_to)
            .chain(&vpn.redirect_rts)
            .chain(&vpn.attract_to)
        {
            rts.insert(rt_node(rt));
        }
    }

    let mut out = String::new();
    let o = &mut out;
    line(o, "digraph import_export {");
    line(o, r#"   node [fontname="Helvetica"];"#);
    line(o, r#"   edge [fontname="Helvetica"];"#);
    line(o, "   nodesep=0.55;");
    line(o, "   subgraph rts {");
    line(o, "       rank=same;");
    for rt in &rts {
        let label = rt.to_uppercase().replace('_', "\\n");
        line(
            o,
            &format!(r#"        {rt} [shape="circle",label="{label}",{RT_TXT_STYLE}];"#),
        );
    }
    line(o, "    }");
    line(o, "    subgraph ipvpns {");
    line(o, "        rank=same;");
    for vpn in vpns.iter().filter(|v| v.kind == "VRF") {
        line(
            o,
            &format!(
                r#"        {} [label="{{<0>VRF\n{}{}|<readv>}}",shape="record"];"#,
                vpn_uid(&vpn.server, &vpn.id),
                record_text(&vpn_short(&vpn.id)),
                server_spec(&vpn.server)
            ),
        );
    }
    line(o, "    }");
    line(o, "    subgraph evpns {");
    for vpn in vpns.iter().filter(|v| v.kind == "EVI") {
        line(
            o,
            &format!(
                r#"        {} [label="{{<0>EVI\n{}{}}}",shape="record"];"#,
                vpn_uid(&vpn.server, &vpn.id),
                record_text(&vpn_short(&vpn.id)),
                server_spec(&vpn.server)
            ),
        );
    }
    line(o, "    }");

    let mut ports: BTreeSet<(String, String)> = BTreeSet::new();
    for vpn in &vpns {
        let uid = vpn_uid(&vpn.server, &vpn.id);
        let comment = format!("{}:{}", vpn.server, vpn.id).replace("*/", "* /");
        line(o, &format!("    /* {comment} */"));
        for rt in &vpn.import_rts {
            line(o, &format!("    {} -> {uid}:0 [{RT_STYLE}];", rt_node(rt)));
        }
        for rt in &vpn.export_rts {
            line(o, &format!("    {uid}:0 -> {} [{RT_STYLE}];", rt_node(rt)));
        }
        let readv = format!("{uid}:readv");
        if vpn.has_readvertise() {
            for rt in &vpn.readvertise_from {
                line(
                    o,
                    &format!(
                        r#"    {} -> {readv} [label="",{RT_STYLE_REDIR_FROM_RT}];"#,
                        rt_node(rt)
                    ),
                );
            }
            for rt in &vpn.readvertise_to {
                line(
                    o,
                    &format!(
                        r#"    {readv} -> {} [label="",{RT_STYLE_REDIR_TO_RT}];"#,
                        rt_node(rt)
                    ),
                );
            }
        }
        if vpn.attracts {
            // BaGPipe-BGP named it `<server>_<vpn>_attract`, which is no Graphviz ID when the
            // server is an IP address (it starts with a digit), and gave it no empty label, so
            // Graphviz warned that the label did not fit.
            let intermediate =
                format!("attract_{}__{}", normalize(&vpn.server), normalize(&vpn.id));
            line(
                o,
                &format!(
                    r#"    {intermediate} [label="",style=invis,height=0,width=0,fixedsize=true,rank=1]"#
                ),
            );
            line(
                o,
                &format!(
                    r#"    {readv} -> {intermediate} [label="flow",{RT_STYLE_FLOWSPEC_INTER}];"#
                ),
            );
            if let Some(redirect) = vpn.redirect_rts.first() {
                line(
                    o,
                    &format!(
                        r#"    {intermediate} -> {} [label="",weight=50,{RT_STYLE_FLOWSPEC}];"#,
                        rt_node(redirect)
                    ),
                );
            }
            if let Some(to) = vpn.attract_to.first() {
                line(
                    o,
                    &format!(
                        r#"    {intermediate} -> {} [label="action",{RT_STYLE_FLOWSPEC_ACTION},arrowhead=none,weight=20];"#,
                        rt_node(to)
                    ),
                );
            }
        }
        for port in &vpn.ports {
            let port = normalize(port);
            line(
                o,
                &format!(
                    "    {uid} -> port_{}_{port} [{PORT_LINK_STYLE},weight=5];",
                    normalize(&vpn.server)
                ),
            );
            ports.insert((vpn.server.clone(), port));
        }
        if let Some(vrf) = &vpn.gateway_vrf {
            line(
                o,
                &format!("    {uid} -> {} [weight=500];", vpn_uid(&vpn.server, vrf)),
            );
        }
    }

    let mut dests: BTreeSet<(String, String)> = BTreeSet::new();
    for (server, port) in &ports {
        let server_n = normalize(server);
        line(
            o,
            &format!(
                r#"    port_{server_n}_{port} [label="",style=invis,height=0,width=0,fixedsize=true];"#
            ),
        );
        if port.starts_with("to_") {
            let dest = port.split('_').nth(1).unwrap_or_default().to_string();
            line(
                o,
                &format!(
                    r#"    port_{server_n}_{port} -> dest_{server_n}_{dest} [style=dashed,dir=none,color="gray",weight=5];"#
                ),
            );
            dests.insert((server.clone(), dest));
        }
    }
    for (server, dest) in &dests {
        line(
            o,
            &format!(
                r#"    dest_{}_{} [label="{}\n[{}]",shape="square",color="gray"];"#,
                normalize(server),
                normalize(dest),
                record_text(dest),
                record_text(server)
            ),
        );
    }
    line(o, "}");
    out
}

fn line(out: &mut String, text: &str) {
    let _ = writeln!(out, "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_graphviz_ids() {
        assert_eq!(normalize("target:64512:1"), "rt_64512_1");
        assert_eq!(rt_node("64512:1"), "rt_64512_1");
        assert_eq!(
            vpn_uid("10.0.0.1", "ipvpn-bagpipe-test"),
            "vpn_10_0_0_1__ipvpn_bagpipe_test"
        );
        assert_eq!(vpn_short("ipvpn-bagpipe-test"), "ipvp..-test");
        assert_eq!(vpn_short("short"), "short");
    }
}
