use std::time::{Duration, Instant};

use super::*;

const OCS_XML: &[u8] = include_bytes!("../tests/fixtures/ocs-2.10-inventory.xml");
const GLPI_JSON: &[u8] = include_bytes!("../tests/fixtures/computer_1.json");

fn inventory(msg: AgentMessage) -> Inventory {
    match msg {
        AgentMessage::Inventory(inv) => *inv,
        other => panic!("expected an inventory, got {other:?}"),
    }
}

#[test]
fn ocs_inventory_fixture() {
    let inv = inventory(parse_ocs_xml(OCS_XML).unwrap());
    assert_eq!(inv.device_id, "PC-ACCUEIL-01-2025-04-20-08-15-00");
    assert!(!inv.partial);
    assert_eq!(inv.name.as_deref(), Some("PC-ACCUEIL-01"));
    assert_eq!(inv.domain.as_deref(), Some("mairie.local"));
    assert_eq!(inv.os_name.as_deref(), Some("Debian GNU/Linux 12"));
    assert_eq!(inv.os_version.as_deref(), Some("12"));
    assert_eq!(inv.os_arch.as_deref(), Some("x86_64"));
    assert_eq!(inv.manufacturer.as_deref(), Some("HP"));
    assert_eq!(inv.model.as_deref(), Some("ProDesk 400 G5 SFF"));
    assert_eq!(inv.bios_version.as_deref(), Some("F.42"));
    assert_eq!(inv.bios_date.as_deref(), Some("03/14/2019"));
    assert_eq!(inv.serial.as_deref(), Some("To be filled by O.E.M."));
    assert_eq!(inv.usable_serial(), None);
    assert_eq!(inv.usable_uuid(), Some("4C4C4544-0042-3610-8052-B7C04F4E3732"));
    assert_eq!(inv.memory_mb, Some(16000));
    assert_eq!(inv.logged_user.as_deref(), Some("agnes.dupre"));
    assert_eq!(inv.tag.as_deref(), Some("mairie-accueil"));
    assert_eq!(inv.agent_version, None, "OCS agent sends no VERSIONCLIENT");

    assert_eq!(
        inv.cpus,
        vec![Cpu {
            name: Some("Intel(R) Core(TM) i7-9700 CPU @ 3.00GHz".into()),
            manufacturer: Some("Intel".into()),
            arch: Some("x86_64".into()),
            cores: Some(4),
            threads: Some(8),
            speed_mhz: Some(3600),
        }]
    );
    assert_eq!(inv.memory_modules.len(), 2);
    assert_eq!(inv.memory_modules[0].capacity_mb, Some(8192));
    assert_eq!(inv.memory_modules[0].slot.as_deref(), Some("DIMM 1"));
    assert_eq!(inv.memory_modules[1].serial, None);
    assert_eq!(inv.disks.len(), 1);
    assert_eq!(inv.disks[0].size_mb, Some(256060), "fractional DISKSIZE truncated");
    assert_eq!(inv.disks[0].serial.as_deref(), Some("S3Z2NB0K123456"));
    assert_eq!(
        inv.volumes[0],
        Volume {
            mount: Some("/".into()),
            filesystem: Some("ext4".into()),
            total_mb: Some(258019),
            free_mb: Some(77695)
        }
    );
    assert_eq!(inv.volumes[1].mount.as_deref(), Some("/boot/efi"));

    assert_eq!(inv.networks.len(), 4);
    assert_eq!(
        inv.networks[0],
        NetworkCard {
            description: Some("enp1s0".into()),
            mac: Some("3c:52:82:ab:cd:ef".into()),
            ips: vec!["192.0.2.10".into()],
            mask: Some("255.255.255.0".into()),
            subnet: Some("192.0.2.0/24".into()),
            vlan: None,
            r#virtual: false,
        }
    );
    assert!(inv.networks[2].r#virtual, "docker0 VIRTUALDEV=1");
    assert!(inv.networks[3].r#virtual, "loopback");
    assert_eq!(inv.physical_macs(), vec!["3c:52:82:ab:cd:ef".to_owned(), "a4:34:d9:12:34:56".to_owned()]);

    assert_eq!(
        inv.monitors,
        vec![Monitor {
            manufacturer: Some("Hewlett Packard".into()),
            model: Some("HP E243".into()),
            serial: Some("CNK9230ABC".into()),
        }]
    );
    assert_eq!(inv.printers[0].name.as_deref(), Some("Imprimante_Accueil"));
    assert_eq!(inv.printers[0].port.as_deref(), Some("socket://192.0.2.50:9100"));

    assert_eq!(inv.software.len(), 2, "entry without NAME dropped");
    assert_eq!(
        inv.software[0],
        Software {
            name: "Éditeur de cartes d'état civil".into(),
            version: Some("2.1.0".into()),
            publisher: Some("Société Coopérative & Fils".into()),
            install_date: Some("2025-04-20".into()),
        }
    );
    assert_eq!(inv.software[1].install_date, None);

    // Serializable for the caller (e.g. stored as JSON).
    let json = serde_json::to_value(&inv).unwrap();
    assert_eq!(json["networks"][0]["virtual"], false);
}

#[test]
fn ocs_and_fi_prolog() {
    let ocs = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REQUEST>\n  <DEVICEID>debian12-2024-05-01-10-20-30</DEVICEID>\n  <QUERY>PROLOG</QUERY>\n</REQUEST>\n";
    assert_eq!(parse_ocs_xml(ocs).unwrap(), AgentMessage::Prolog { device_id: "debian12-2024-05-01-10-20-30".into() });
    let fi = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<REQUEST>\n  <DEVICEID>pc-2024-05-01-10-20-30</DEVICEID>\n  <QUERY>PROLOG</QUERY>\n  <TOKEN>12345678</TOKEN>\n</REQUEST>\n";
    assert_eq!(
        parse_message(fi.as_bytes()).unwrap(),
        AgentMessage::Prolog { device_id: "pc-2024-05-01-10-20-30".into() }
    );
}

#[test]
fn fusioninventory_variant() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8" ?>
<REQUEST><CONTENT>
  <BIOS><SSN></SSN></BIOS>
  <CPUS><ARCH>i386</ARCH><CORE>2</CORE><MANUFACTURER>AMD</MANUFACTURER><NAME>AMD EPYC</NAME><SPEED>2400</SPEED><THREAD>2</THREAD></CPUS>
  <HARDWARE><MEMORY>24105</MEMORY><NAME>vm</NAME><OSNAME>Debian GNU/Linux 12 (bookworm)</OSNAME><OSVERSION>6.1.0</OSVERSION></HARDWARE>
  <NETWORKS><DESCRIPTION>eth0</DESCRIPTION><IPADDRESS>192.0.2.2</IPADDRESS><MACADDR>02:FC:00:00:00:01</MACADDR></NETWORKS>
  <NETWORKS><DESCRIPTION>eth0</DESCRIPTION><IPADDRESS6>2001:DB8::0002</IPADDRESS6><MACADDR>02:fc:00:00:00:01</MACADDR></NETWORKS>
  <OPERATINGSYSTEM><ARCH>x86_64</ARCH><FULL_NAME>Debian GNU/Linux 12 (bookworm)</FULL_NAME><VERSION>12.11</VERSION></OPERATINGSYSTEM>
  <SOFTWARES><INSTALLDATE>20/04/2025</INSTALLDATE><NAME>zstd</NAME><PUBLISHER>Debian</PUBLISHER><VERSION>1.5.4</VERSION></SOFTWARES>
  <VERSIONCLIENT>FusionInventory-Agent_v2.6-3</VERSIONCLIENT>
</CONTENT><DEVICEID>vm-2026-11-23-13-27-24</DEVICEID><QUERY>INVENTORY</QUERY></REQUEST>"#;
    let inv = inventory(parse_ocs_xml(xml).unwrap());
    assert_eq!(inv.serial, None, "empty <SSN></SSN> is None");
    assert_eq!(inv.os_version.as_deref(), Some("12.11"), "OPERATINGSYSTEM wins over HARDWARE");
    assert_eq!(inv.os_arch.as_deref(), Some("x86_64"));
    assert_eq!(inv.agent_version.as_deref(), Some("FusionInventory-Agent_v2.6-3"));
    assert_eq!(inv.cpus[0].name.as_deref(), Some("AMD EPYC"));
    assert_eq!((inv.cpus[0].cores, inv.cpus[0].threads), (Some(2), Some(2)));
    assert_eq!(inv.networks.len(), 1, "one FI entry per address merged back");
    assert_eq!(inv.networks[0].ips, vec!["192.0.2.2".to_owned(), "2001:db8::2".to_owned()]);
    assert_eq!(inv.software[0].install_date.as_deref(), Some("2025-04-20"));
}

#[test]
fn glpi_inventory_example() {
    let inv = inventory(parse_glpi_json(GLPI_JSON).unwrap());
    assert_eq!(inv.device_id, "glpixps-2018-07-09-09-07-13");
    assert_eq!(inv.tag.as_deref(), Some("000005"));
    assert_eq!(inv.name.as_deref(), Some("glpixps"));
    assert_eq!(inv.serial.as_deref(), Some("640HP72"));
    assert_eq!(inv.usable_serial(), Some("640HP72"));
    assert_eq!(inv.manufacturer.as_deref(), Some("Dell Inc."));
    assert_eq!(inv.model.as_deref(), Some("XPS 13 9350"));
    assert_eq!(inv.bios_date.as_deref(), Some("2016-02-06"));
    assert_eq!(inv.uuid.as_deref(), Some("4c4c4544-0034-3010-8048-b6c04f503732"));
    assert_eq!(inv.os_name.as_deref(), Some("Fedora 31 (Workstation Edition)"));
    assert_eq!(inv.os_arch.as_deref(), Some("x86_64"));
    assert_eq!(inv.memory_mb, Some(7800));
    assert_eq!(inv.logged_user.as_deref(), Some("root"));
    assert_eq!(inv.agent_version.as_deref(), Some("FusionInventory-Agent_v2.5.2-1.fc31"));
    assert_eq!(inv.cpus[0].speed_mhz, Some(2300));
    assert_eq!(inv.cpus[0].threads, Some(4));
    assert_eq!(inv.memory_modules.len(), 2);
    assert_eq!(inv.disks[0].serial.as_deref(), Some("S29NNXAH146409"));
    assert_eq!(inv.disks[0].size_mb, Some(256060));
    assert_eq!(inv.volumes.len(), 6);
    assert_eq!(inv.volumes[0].free_mb, Some(11683));
    assert!(inv.networks[0].r#virtual, "lo virtualdev=true");
    assert!(!inv.physical_macs().is_empty());
    assert!(!inv.physical_macs().contains(&"00:00:00:00:00:00".to_owned()));
    assert_eq!(inv.monitors[0].serial.as_deref(), Some("ABH55D"));
    assert_eq!(inv.printers[0].serial.as_deref(), Some("MY47L1W1JHEB6"));
    assert_eq!(inv.software.len(), 6);
    assert_eq!(inv.software[0].name, "gitg");
    assert_eq!(inv.software[0].install_date.as_deref(), Some("2019-12-19"));
}

#[test]
fn glpi_contact_and_partial() {
    let contact =
        br#"{"action":"contact","deviceid":"pc01-2024-05-01-10-20-30","enabled-tasks":["inventory","netdiscovery"],
        "httpd-port":"62354","name":"GLPI-Agent","tag":"awesome-tag","version":"1.11"}"#;
    assert_eq!(
        parse_message(contact).unwrap(),
        AgentMessage::Contact {
            device_id: "pc01-2024-05-01-10-20-30".into(),
            tag: Some("awesome-tag".into()),
            agent_name: Some("GLPI-Agent".into()),
            agent_version: Some("1.11".into()),
            enabled_tasks: vec!["inventory".into(), "netdiscovery".into()],
        }
    );
    let partial = br#"{"action":"inventory","deviceid":"d1","partial":true,"itemtype":"Computer",
        "content":{"versionclient":"GLPI-Agent_v1.11","hardware":{"name":"pc01","memory":"8192"}}}"#;
    let inv = inventory(parse_glpi_json(partial).unwrap());
    assert!(inv.partial);
    assert_eq!(inv.memory_mb, Some(8192), "numeric text accepted");
    assert_eq!(
        parse_glpi_json(br#"{"action":"inventory","content":{}}"#),
        Err(InventoryError::MissingField("deviceid"))
    );
    assert_eq!(parse_glpi_json(br#"{"deviceid":"d"}"#), Err(InventoryError::MissingField("content")));
    assert_eq!(
        parse_glpi_json(br#"{"action":"netdiscovery","deviceid":"d"}"#),
        Err(InventoryError::UnknownQuery("netdiscovery".into()))
    );
    assert!(matches!(parse_glpi_json(b"{\"action\":"), Err(InventoryError::Malformed(_))));
}

#[test]
fn zlib_round_trip_and_gzip() {
    let z = zlib_compress(OCS_XML);
    assert_eq!(&z[..2], &[0x78, 0x9c], "default level: FusionInventory needs 78 9C");
    assert_eq!(decode_body(&z, 1 << 20).unwrap(), OCS_XML);
    let inv = inventory(parse_message(&decode_body(&z, 1 << 20).unwrap()).unwrap());
    assert_eq!(inv.name.as_deref(), Some("PC-ACCUEIL-01"));

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, OCS_XML).unwrap();
    assert_eq!(decode_body(&gz.finish().unwrap(), 1 << 20).unwrap(), OCS_XML);

    // Plain bodies pass through, but the limit still applies.
    assert_eq!(decode_body(GLPI_JSON, 1 << 20).unwrap(), GLPI_JSON);
    assert_eq!(decode_body(OCS_XML, 100), Err(InventoryError::TooLarge { limit: 100 }));
    // Exactly at the limit is accepted.
    assert_eq!(decode_body(&z, OCS_XML.len()).unwrap().len(), OCS_XML.len());
    assert_eq!(decode_body(&z, OCS_XML.len() - 1), Err(InventoryError::TooLarge { limit: OCS_XML.len() - 1 }));
    // Truncated zlib stream.
    assert!(matches!(decode_body(&z[..z.len() / 2], 1 << 20), Err(InventoryError::Malformed(_))));
}

#[test]
fn zlib_bomb_refused_fast() {
    let zeros = vec![0u8; 50 * 1024 * 1024];
    let bomb = zlib_compress(&zeros);
    drop(zeros);
    assert!(bomb.len() < 200 * 1024, "bomb is small: {}", bomb.len());
    let start = Instant::now();
    assert_eq!(decode_body(&bomb, 1024 * 1024), Err(InventoryError::TooLarge { limit: 1024 * 1024 }));
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
}

#[test]
fn malformed_inputs() {
    let err = |b: &[u8]| parse_ocs_xml(b).unwrap_err();
    assert!(matches!(err(b"<REQUEST><QUERY>PROLOG</QUERY><DEVICEID>x</REQUEST>"), InventoryError::Malformed(_)));
    assert!(matches!(err(b"<REQUEST><QUERY>PROLOG</QUERY>"), InventoryError::Malformed(_)));
    assert!(matches!(err(b""), InventoryError::Malformed(_)));
    assert!(matches!(err(b"<REPLY><QUERY>PROLOG</QUERY></REPLY>"), InventoryError::Malformed(_)));
    // Latin-1 bytes in a document without declaration (so UTF-8): read as Windows-1252, not refused.
    let latin1 = b"<REQUEST><QUERY>PROLOG</QUERY><DEVICEID>caf\xe9-2024</DEVICEID></REQUEST>";
    assert_eq!(parse_ocs_xml(latin1).unwrap(), AgentMessage::Prolog { device_id: "café-2024".into() });
    assert_eq!(
        err(b"<REQUEST><QUERY>SNMP</QUERY><DEVICEID>x</DEVICEID></REQUEST>"),
        InventoryError::UnknownQuery("SNMP".into())
    );
    assert_eq!(err(b"<REQUEST><DEVICEID>x</DEVICEID></REQUEST>"), InventoryError::MissingField("QUERY"));
    assert_eq!(err(b"<REQUEST><QUERY>PROLOG</QUERY></REQUEST>"), InventoryError::MissingField("DEVICEID"));
    assert_eq!(
        err(b"<REQUEST><QUERY>INVENTORY</QUERY><DEVICEID>x</DEVICEID></REQUEST>"),
        InventoryError::MissingField("CONTENT")
    );
    let deep = format!("<REQUEST>{}{}</REQUEST>", "<A>".repeat(100), "</A>".repeat(100));
    assert!(matches!(err(deep.as_bytes()), InventoryError::Malformed(_)));
    assert!(matches!(parse_message(b"OK"), Err(InventoryError::Malformed(_))));
    assert_eq!(
        InventoryError::TooLarge { limit: 5 }.to_string(),
        "inventory body larger than the 5-byte limit once decompressed"
    );
}

#[test]
fn junk_serials_and_uuids() {
    for junk in [
        "",
        "  ",
        "0",
        "None",
        "To be filled by O.E.M.",
        "To Be Filled By O.E.M.",
        " to be filled by o.e.m. ",
        "System Serial Number",
        "Default string",
        "Not Specified",
        "Not Applicable",
        "123456789",
        "00000000",
        "XXXXXXXX",
        "Chassis Serial Number",
        "INVALID",
        "0000",
        "aaaaaaa",
    ] {
        assert!(is_junk_serial(junk), "{junk:?} should be junk");
    }
    for good in ["640HP72", "CZC1234XYZ", "000", "PF1ABCDE", "5CG0123456"] {
        assert!(!is_junk_serial(good), "{good:?} should be usable");
    }
    for junk in [
        "00000000-0000-0000-0000-000000000000",
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "03000200-0400-0500-0006-000700080009",
        "01010101-0101-0101-0101-010101010101",
        "",
        "Not Specified",
    ] {
        assert!(is_junk_uuid(junk), "{junk:?} should be junk");
    }
    assert!(!is_junk_uuid("4c4c4544-0034-3010-8048-b6c04f503732"));
    let inv = Inventory { uuid: Some(" 00000000-0000-0000-0000-000000000000 ".into()), ..Inventory::default() };
    assert_eq!(inv.usable_uuid(), None);
    let inv = Inventory { serial: Some(" CZC1234XYZ ".into()), ..Inventory::default() };
    assert_eq!(inv.usable_serial(), Some("CZC1234XYZ"));
}

#[test]
fn replies_match_the_reference() {
    assert_eq!(
        String::from_utf8(ocs_prolog_reply(24)).unwrap(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REPLY><RESPONSE>SEND</RESPONSE><PROLOG_FREQ>24</PROLOG_FREQ></REPLY>\n"
    );
    assert_eq!(
        String::from_utf8(ocs_inventory_reply()).unwrap(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REPLY><RESPONSE>NO_ACCOUNT_UPDATE</RESPONSE></REPLY>\n"
    );
    let z = zlib_compress(&ocs_prolog_reply(12));
    assert_eq!(&z[..2], &[0x78, 0x9c]);
    assert_eq!(decode_body(&z, 4096).unwrap(), ocs_prolog_reply(12));

    let v: serde_json::Value = serde_json::from_slice(&glpi_contact_reply(24, &[])).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"status":"ok","expiration":24,"tasks":{"inventory":{"server":"glpi","version":"10.0.0"}}})
    );
    let v: serde_json::Value =
        serde_json::from_slice(&glpi_contact_reply(24, &["inventory".into(), "netdiscovery".into()])).unwrap();
    assert_eq!(v["disabled"], serde_json::json!(["netdiscovery"]));
    let v: serde_json::Value = serde_json::from_slice(&glpi_inventory_reply(24)).unwrap();
    assert_eq!(v, serde_json::json!({"status":"ok","expiration":24}));
    let v: serde_json::Value = serde_json::from_slice(&glpi_error_reply("busy server", 1)).unwrap();
    assert_eq!(v, serde_json::json!({"status":"error","message":"busy server","expiration":1}));
}

#[test]
fn dates() {
    assert_eq!(map::normalize_date("2025/04/20 00:00:00"), "2025-04-20");
    assert_eq!(map::normalize_date("20/04/2025"), "2025-04-20");
    assert_eq!(map::normalize_date("2019-12-19"), "2019-12-19");
    assert_eq!(map::normalize_date("2000-0-0"), "2000-0-0");
    assert_eq!(map::normalize_date("yesterday"), "yesterday");
}
