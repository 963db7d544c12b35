//! Service chaining helpers (reference §2.3 `attract_traffic`, §2.6): the traffic classifier of
//! the API as FlowSpec components (RFC 8955 §4.2), and back.

use crate::api::{IpProtocol, PortMatch, TrafficClassifier};
use crate::wire::nlri::{component, FlowComponent, FlowPrefix, FlowSpecRule, IpPrefix, NumericOp};
use crate::wire::RouteDistinguisher;
use ipnetwork::IpNetwork;

/// A numeric operator with the smallest value length that holds `value`.
fn op(and: bool, lt: bool, gt: bool, eq: bool, value: u64) -> NumericOp {
    let value_len = if value < 0x100 {
        1
    } else if value < 0x1_0000 {
        2
    } else {
        4
    };
    NumericOp {
        and,
        lt,
        gt,
        eq,
        value_len,
        value,
    }
}

/// The operators of a port match (reference §2.6): a port is `=port`; a range from 0 is
/// `<max`... kept as BaGPipe-BGP writes them: `<max` when min is 0, `>min` when max is 65535,
/// else `>=min AND <=max`.
fn port_ops(port: PortMatch) -> Vec<NumericOp> {
    match port {
        PortMatch::Port(p) => vec![op(false, false, false, true, u64::from(p))],
        PortMatch::Range { min: 0, max } => vec![op(false, true, false, false, u64::from(max))],
        PortMatch::Range { min, max: 65535 } => {
            vec![op(false, false, true, false, u64::from(min))]
        }
        PortMatch::Range { min, max } => vec![
            op(false, false, true, true, u64::from(min)),
            op(true, true, false, true, u64::from(max)),
        ],
    }
}

fn flow_prefix(prefix: IpNetwork) -> FlowPrefix {
    let len = prefix.prefix();
    let octets: Vec<u8> = match prefix.network() {
        std::net::IpAddr::V4(a) => a.octets().to_vec(),
        std::net::IpAddr::V6(a) => a.octets().to_vec(),
    };
    let used = usize::from(len).div_ceil(8);
    FlowPrefix {
        len,
        offset: 0,
        pattern: octets.into_iter().take(used).collect(),
    }
}

/// The FlowSpec rule of a classifier (reference §2.6), with `destination` replacing the
/// classifier's destination prefix when given, as an IPv4 FlowSpec-VPN rule of `rd`.
pub fn classifier_rule(
    classifier: &TrafficClassifier,
    destination: Option<IpNetwork>,
    rd: RouteDistinguisher,
) -> FlowSpecRule {
    let mut components = Vec::new();
    if let Some(dst) = destination.or(classifier.destination_prefix) {
        components.push(FlowComponent::Prefix {
            code: component::DESTINATION_PREFIX,
            prefix: flow_prefix(dst),
        });
    }
    if let Some(src) = classifier.source_prefix {
        components.push(FlowComponent::Prefix {
            code: component::SOURCE_PREFIX,
            prefix: flow_prefix(src),
        });
    }
    let protocol = classifier.protocol.unwrap_or(IpProtocol::Tcp);
    components.push(FlowComponent::Numeric {
        code: component::IP_PROTOCOL,
        ops: vec![op(false, false, false, true, u64::from(protocol.number()))],
    });
    if let Some(port) = classifier.destination_port {
        components.push(FlowComponent::Numeric {
            code: component::DESTINATION_PORT,
            ops: port_ops(port),
        });
    }
    if let Some(port) = classifier.source_port {
        components.push(FlowComponent::Numeric {
            code: component::SOURCE_PORT,
            ops: port_ops(port),
        });
    }
    let ipv6 = destination
        .or(classifier.destination_prefix)
        .or(classifier.source_prefix)
        .is_some_and(|p| p.is_ipv6());
    FlowSpecRule {
        ipv6,
        rd: Some(rd),
        components,
    }
}

/// An [`IpPrefix`] as an [`IpNetwork`].
pub fn network(prefix: IpPrefix) -> Option<IpNetwork> {
    IpNetwork::new(prefix.addr(), prefix.len()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier(dst_port: Option<PortMatch>) -> TrafficClassifier {
        TrafficClassifier {
            source_prefix: None,
            destination_prefix: None,
            source_port: None,
            destination_port: dst_port,
            protocol: Some(IpProtocol::Tcp),
        }
    }

    #[test]
    fn ports_map_to_the_operators_bagpipe_uses() {
        let rd = RouteDistinguisher::As2 { asn: 1, number: 1 };
        let rule = classifier_rule(
            &classifier(Some(PortMatch::Port(80))),
            "10.1.0.0/16".parse().ok(),
            rd,
        );
        assert_eq!(rule.components.len(), 3);
        assert_eq!(
            rule.components[0],
            FlowComponent::Prefix {
                code: 1,
                prefix: FlowPrefix {
                    len: 16,
                    offset: 0,
                    pattern: vec![10, 1]
                }
            }
        );
        let FlowComponent::Numeric { code: 5, ops } = &rule.components[2] else {
            panic!("{rule:?}")
        };
        assert_eq!((ops[0].eq, ops[0].value), (true, 80));
        let range = port_ops(PortMatch::Range {
            min: 1000,
            max: 2000,
        });
        assert!(range[0].gt && range[0].eq && !range[0].and);
        assert!(range[1].lt && range[1].eq && range[1].and);
        assert!(port_ops(PortMatch::Range { min: 0, max: 99 })[0].lt);
        assert!(
            port_ops(PortMatch::Range {
                min: 99,
                max: 65535
            })[0]
                .gt
        );
    }
}
