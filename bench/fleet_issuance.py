"""Fleet issuance against the guide's openssl recipe (the peer), in the same run: 1,000 EC P-256 and 200 RSA-2048
devices.

Both sides sign with the same RSA-4096 CA (the guide's `openssl genrsa -aes256 ... 4096`), write the guide's files
per device (deviceKey.pem, deviceCert.pem, deviceCertChain.pem) and, unless --no-keystore, a PKCS#12 keystore
(`openssl pkcs12 -export`). The recipe runs for a sample of devices and is extrapolated per device (printed as such),
in two ways, so the ratio compares like with like:
- sequential: one openssl command at a time, as a person following the guide would;
- parallel: as many workers as ours uses (--jobs; default one per core), each running the recipe's commands one
  after another in its own `openssl ca` folder (openssl ca's database cannot be shared by concurrent commands).
What is parallel: ours issues the fleet with N worker processes (N printed); the parallel recipe runs N openssl
command chains at once; the sequential recipe one command at a time. Rounds are interleaved (ours, recipe
parallel, recipe sequential, ...) and the figures are medians of --rounds (every run printed).

Run: python bench/fleet_issuance.py [--ec 1000] [--rsa 200] [--ec-sample 50] [--rsa-sample 20] [--jobs N]
[--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import benchlib
from cryptography.hazmat.primitives import serialization

from workbench.core.pki.fleet import FleetTemplate, KeystoreOptions
from workbench.core.pki.fleet_ids import ids_from_pattern
from workbench.core.pki.issuance import Issuer, create_root_ca
from workbench.core.pki.keys import KeySpec, dump_private_key_pem, generate_key
from workbench.core.pki.names import parse_dn
from workbench.core.pki.openssl_export import guide_ca_config
from workbench.core.pki.profiles import root_ca_profile
from workbench.services.fleet import FleetRequest, issue_fleet

PASSWORD = "bench-pass"
TARGETS = {KeySpec.EC_P256: 8.0, KeySpec.RSA_2048: 6.0}
EC_SECONDS_TARGET = 10.0



def make_ca(folder: Path) -> Issuer:
    """The guide's CA folder: RSA-4096 key (AES-256), caCert.pem, caConfig.cnf, database.txt, serial, subfolders."""
    key = generate_key(KeySpec.RSA_4096)
    cert = create_root_ca(parse_dn("CN=Bench Root CA,O=Workbench"), key, root_ca_profile(path_length=10))
    folder.mkdir(parents=True)
    (folder / "caKey.pem").write_bytes(dump_private_key_pem(key, PASSWORD.encode()))
    (folder / "caCert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Issuer(cert, key)


def fresh_openssl_ca(template: Path, folder: Path) -> Path:
    """A clean `openssl ca` folder (empty database, serial 1000) sharing the CA key and certificate."""
    folder.mkdir()
    for name in ("caKey.pem", "caCert.pem"):
        shutil.copy(template / name, folder / name)
    (folder / "database.txt").touch()
    (folder / "serial").write_text("1000\n")
    (folder / "deviceCertificates").mkdir()
    (folder / "crl").mkdir()
    (folder / "caConfig.cnf").write_text(guide_ca_config(folder, path_length=10))
    return folder


def run_recipe(ca_dir: Path, spec: KeySpec, count: int, keystore: bool, first: int = 1) -> float:
    """The guide's per-device commands, sequentially; returns seconds for ``count`` devices."""
    env = {**os.environ, "PW": PASSWORD}
    config = str(ca_dir / "caConfig.cnf")

    def sh(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    started = time.perf_counter()
    for n in range(first, first + count):
        d = ca_dir / "deviceCertificates" / f"wb-dev-{n:04d}"
        d.mkdir()
        key, csr, cert, chain = (str(d / f) for f in ("deviceKey.pem", "deviceCsr.pem", "deviceCert.pem",
                                                      "deviceCertChain.pem"))
        if spec is KeySpec.RSA_2048:
            sh("genrsa", "-aes256", "-passout", "env:PW", "-out", key, "2048")
            passin = ["-passin", "env:PW"]
        else:  # no encryption step: the recipe does less than we do (our keys are encrypted)
            sh("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
            passin = []
        sh("req", "-config", config, "-new", "-sha256", "-key", key, *passin, "-subj", f"/CN=wb-dev-{n:04d}",
           "-out", csr)
        sh("ca", "-config", config, "-batch", "-passin", "env:PW", "-extensions", "v3_signed", "-days", "365",
           "-notext", "-md", "sha256", "-in", csr, "-out", cert)
        with open(chain, "wb") as out:  # `cat deviceCert.pem caCert.pem > deviceCertChain.pem`
            out.write(Path(cert).read_bytes() + (ca_dir / "caCert.pem").read_bytes())
        if keystore:
            sh("pkcs12", "-export", "-name", "devicekeyentry", "-inkey", key, *passin, "-in", chain,
               "-passout", "env:PW", "-out", str(d / "deviceKeystore.pkcs12"))
    return time.perf_counter() - started


def run_recipe_parallel(template: Path, root: Path, spec: KeySpec, count: int, keystore: bool, workers: int) -> float:
    """The recipe for ``count`` devices split over ``workers`` concurrent command chains, each in its own fresh
    `openssl ca` folder; returns the wall seconds for all of them."""
    root.mkdir()
    folders = [fresh_openssl_ca(template, root / f"worker-{w}") for w in range(workers)]
    shares = [count // workers + (1 if w < count % workers else 0) for w in range(workers)]
    starts = [1 + sum(shares[:w]) for w in range(workers)]
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:  # each thread waits on its openssl processes: they run in parallel
        list(pool.map(lambda w: run_recipe(folders[w], spec, shares[w], keystore, starts[w]), range(workers)))
    return time.perf_counter() - started


def run_ours(issuer: Issuer, spec: KeySpec, count: int, out: Path, jobs: int | None, keystore: bool) -> float:
    """Our fleet issuance, the whole fleet for real; returns wall seconds."""
    template = FleetTemplate.for_issuer(issuer, key_spec=spec, key_password=PASSWORD.encode(),
                                        keystore=KeystoreOptions() if keystore else None)
    started = time.perf_counter()
    result = issue_fleet(FleetRequest(template, ids_from_pattern("wb-dev-{n:04d}", count), out, jobs=jobs))
    elapsed = time.perf_counter() - started
    assert len(result.records) == count
    sample = out / result.records[-1].device_id
    subprocess.run(["openssl", "verify", "-CAfile", str(out.parent / "ca" / "caCert.pem"),
                    str(sample / "deviceCert.pem")], check=True, stdout=subprocess.DEVNULL)
    return elapsed


def main() -> int:
    """Interleave ours and the recipe (parallel and sequential) per key type, print medians, ratios and the load."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ec", type=int, default=1000)
    parser.add_argument("--rsa", type=int, default=200)
    parser.add_argument("--ec-sample", type=int, default=50)
    parser.add_argument("--rsa-sample", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=None, help="our worker processes (default: one per core)")
    parser.add_argument("--no-keystore", action="store_true")
    benchlib.add_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.ec, args.rsa, args.ec_sample, args.rsa_sample, args.rounds = min(args.ec, 8), min(args.rsa, 2), 2, 2, 1
    if shutil.which("openssl") is None:
        print("openssl is not installed: cannot run the peer", file=sys.stderr)
        return 1
    keystore = not args.no_keystore
    workers = args.jobs or os.cpu_count() or 1
    version = subprocess.run(["openssl", "version"], capture_output=True, text=True, check=True).stdout.strip()
    writer = "keystore core"  # the one device-bundle writer (workbench.services.device_bundle)
    benchlib.begin(f"fleet issuance: {version}, CA RSA-4096, keystore {'on (' + writer + ')' if keystore else 'off'}; "
                   f"{args.rounds} interleaved rounds, medians",
                   f"ours = {workers} worker processes (--jobs {args.jobs or 'auto: one per core'}; a fleet small "
                   f"enough runs in-process); recipe parallel = {workers} openssl command chains at once, each in "
                   "its own openssl ca folder; recipe sequential = one openssl command at a time", args)
    ok = True
    rows = []
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        root = Path(tmp)
        issuer = make_ca(root / "ca")
        for spec, count, sample in ((KeySpec.EC_P256, args.ec, args.ec_sample),
                                    (KeySpec.RSA_2048, args.rsa, args.rsa_sample)):
            if count < 1 or sample < 1:
                print(f"{spec.value}: skipped (--{'ec' if spec is KeySpec.EC_P256 else 'rsa'} 0)")
                continue
            runs: dict[str, list[float]] = {"ours": [], "parallel": [], "sequential": []}
            for round_ in range(args.rounds):
                tag = f"{spec.value}-{round_}"
                runs["ours"].append(run_ours(issuer, spec, count, root / f"ours-{tag}", args.jobs, keystore))
                runs["parallel"].append(run_recipe_parallel(root / "ca", root / f"par-{tag}", spec,
                                                            max(sample, workers), keystore, workers)
                                        / max(sample, workers))
                runs["sequential"].append(run_recipe(fresh_openssl_ca(root / "ca", root / f"seq-{tag}"), spec,
                                                     sample, keystore) / sample)
                print(f"  round {round_ + 1} {spec.value}: ours {runs['ours'][-1]:.2f} s for {count}, recipe "
                      f"{runs['parallel'][-1] * 1e3:.1f} ms/dev parallel, {runs['sequential'][-1] * 1e3:.1f} ms/dev "
                      f"sequential; {benchlib.load()}", flush=True)
            ours = benchlib.median(runs["ours"])
            parallel, sequential = benchlib.median(runs["parallel"]), benchlib.median(runs["sequential"])
            ratio_parallel, ratio_sequential = parallel * count / ours, sequential * count / ours
            target = TARGETS[spec]
            passed = ratio_parallel >= target and (spec is not KeySpec.EC_P256 or ours <= EC_SECONDS_TARGET)
            ok = ok and passed
            rows.append((spec.value, count, ours, ours / count * 1e3, sample, parallel * 1e3, sequential * 1e3,
                         ratio_parallel, ratio_sequential, target, passed, benchlib.runs_text(runs["ours"])))
    print(f"{'keys':<8} {'devices':>7} {'ours s':>7} {'ours ms/dev':>11} | {'sample':>6} {'recipe ms/dev par.':>18} "
          f"{'seq.':>7} | {'ratio par.':>10} {'seq.':>6} {'target':>6}   ours s each run")
    for name, count, ours, ours_ms, sample, par_ms, seq_ms, r_par, r_seq, target, passed, each in rows:
        print(f"{name:<8} {count:>7} {ours:>7.2f} {ours_ms:>11.2f} | {sample:>6} {par_ms:>18.1f} {seq_ms:>7.1f} | "
              f"{r_par:>9.1f}x {r_seq:>5.1f}x {target:>5.0f}x {'PASS' if passed else 'FAIL'}   {each}")
    print(f"ratio = the recipe's time for the whole fleet (extrapolated per device from the sample) / ours, both with "
          f"{workers} workers (par.) or the recipe one command at a time (seq.); the target applies to the parallel "
          f"ratio; openssl ca's index grows, so extrapolation favours the recipe; EC also needs <= "
          f"{EC_SECONDS_TARGET:.0f} s")
    benchlib.end()
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
