//! Codec speed (issue targets: an UPDATE with one VPNv4 route and typical attributes decodes in
//! at most 250 ns; each further VPNv4 or E-VPN MAC/IP route adds at most 25 ns; encoding is no
//! slower than decoding). Run: `cargo bench -p bagpipe-core --bench codec`.

use bagpipe_core::wire::attr::{AsPath, MpReach, NextHop, Origin, PathAttribute, PathAttributes};
use bagpipe_core::wire::extcomm::{ExtendedCommunity, TunnelType};
use bagpipe_core::wire::nlri::{Esi, EvpnRoute, IpPrefix, Ipv4Prefix, Nlri, PathNlri, VpnRoute};
use bagpipe_core::wire::update::{decode_update, Update};
use bagpipe_core::wire::{DecodeContext, Family, Label, LabelStackEntry, MacAddress, Vni};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::net::{IpAddr, Ipv4Addr};

fn ctx() -> DecodeContext {
    DecodeContext {
        four_octet_as: true,
        families: [Family::VPNV4, Family::EVPN, Family::RTC].into(),
        ..DecodeContext::default()
    }
}

fn vpnv4(i: u32) -> PathNlri {
    let prefix =
        Ipv4Prefix::new(Ipv4Addr::from(0x0a00_0000 | i << 8), 24).unwrap_or_else(|| unreachable!());
    let route = VpnRoute::new(
        RouteDistinguisher(i),
        IpPrefix::V4(prefix),
        vec![LabelStackEntry::from_label(
            Label::new(16 + i % 1000).unwrap_or(Label::IMPLICIT_NULL),
            true,
        )],
    );
    PathNlri::new(Nlri::Vpn(route.unwrap_or_else(|| unreachable!())))
}

#[allow(non_snake_case)]
fn RouteDistinguisher(i: u32) -> bagpipe_core::wire::RouteDistinguisher {
    bagpipe_core::wire::RouteDistinguisher::Ipv4 {
        addr: Ipv4Addr::new(10, 99, 0, 1),
        number: (i % 65536) as u16,
    }
}

fn mac_ip(i: u32) -> PathNlri {
    let b = i.to_be_bytes();
    PathNlri::new(Nlri::Evpn(EvpnRoute::MacIpAdvertisement {
        rd: RouteDistinguisher(1),
        esi: Esi::ZERO,
        ethernet_tag: 0,
        mac: MacAddress([0xfa, 0x16, b[0], b[1], b[2], b[3]]),
        ip: Some(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i))),
        label1: LabelStackEntry::from_vni(Vni::new(100).unwrap_or_else(|| unreachable!())),
        label2: None,
    }))
}

/// An UPDATE as BaGPipe-BGP sends one: MP_REACH, ORIGIN, empty AS_PATH, LOCAL_PREF, RT,
/// encapsulation and consistent-hash-sort-order communities.
fn update(family: Family, routes: Vec<PathNlri>) -> Vec<u8> {
    let next_hop = if family == Family::VPNV4 {
        NextHop::VpnIpv4 {
            rd: bagpipe_core::wire::RouteDistinguisher::As2 { asn: 0, number: 0 },
            addr: Ipv4Addr::new(10, 99, 0, 1),
        }
    } else {
        NextHop::Ipv4(Ipv4Addr::new(10, 99, 0, 1))
    };
    let update = Update {
        withdrawn: vec![],
        attributes: PathAttributes {
            list: vec![
                PathAttribute::MpReach(MpReach {
                    family,
                    next_hop,
                    nlri: routes,
                    undecoded_nlri: vec![],
                }),
                PathAttribute::Origin(Origin::Igp),
                PathAttribute::AsPath(AsPath::default()),
                PathAttribute::LocalPref(100),
                PathAttribute::ExtendedCommunities(smallvec::smallvec![
                    ExtendedCommunity::RouteTarget {
                        target: "64512:100".parse().unwrap_or_else(|_| unreachable!()),
                    },
                    ExtendedCommunity::Encapsulation {
                        tunnel_type: TunnelType::Mpls,
                    },
                    ExtendedCommunity::ConsistentHashSortOrder { order: 0 },
                ]),
            ],
        },
        nlri: vec![],
    };
    update.encode_body(&ctx())
}

fn bench(c: &mut Criterion) {
    let cx = ctx();
    for (name, family, make) in [
        ("vpnv4", Family::VPNV4, vpnv4 as fn(u32) -> PathNlri),
        ("evpn_mac_ip", Family::EVPN, mac_ip),
    ] {
        let mut group = c.benchmark_group(format!("decode_update/{name}"));
        for n in [1u32, 10, 100] {
            let body = update(family, (0..n).map(make).collect());
            group.bench_with_input(BenchmarkId::from_parameter(n), &body, |b, body| {
                b.iter(|| decode_update(black_box(body), &cx))
            });
        }
        group.finish();
        let mut group = c.benchmark_group(format!("encode_update/{name}"));
        for n in [1u32, 10, 100] {
            let decoded = decode_update(&update(family, (0..n).map(make).collect()), &cx).update;
            group.bench_with_input(BenchmarkId::from_parameter(n), &decoded, |b, u| {
                b.iter(|| black_box(u).encode_body(&cx))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
