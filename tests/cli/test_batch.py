"""The batch form: several spec files composed in one run, one client, one request pool."""
import yaml

import mm_images
from mm_cli import run_cli


def spec(tmp_path, reg, name: str, target: str, images: list[dict]) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"image": f"{reg.host}/{target}",
                                    "manifests": [{"image": i["ref"]} for i in images]}))
    return str(path)


def test_three_specs_in_one_run(registry, repo_name, tmp_path):
    specs, expected = [], {}
    for k in range(3):
        imgs = [mm_images.push_image(registry, f"{repo_name}-{k}-{a}", "v1", arch=a, salt=str(k))
                for a in ("amd64", "s390x")]
        specs.append(spec(tmp_path, registry, f"s{k}", f"{repo_name}-{k}:v1", imgs))
        expected[f"{registry.host}/{repo_name}-{k}"] = [i["digest"] for i in imgs]
    r = run_cli("push", "from-spec", *specs, "--json")
    assert r.code == 0, r.err
    docs = r.json()
    assert [d["ref"].split("@")[0] for d in docs] == list(expected)
    for d in docs:
        assert [m["digest"] for m in d["manifests"]] == expected[d["ref"].split("@")[0]]
        _body, _, header = mm_images.get_manifest(registry, d["ref"].split("/", 1)[1].split("@")[0], "v1")
        assert header == d["digest"]
    assert all(line.startswith("[") for line in r.err_lines)  # progress says which image it is about


def test_one_failing_spec_does_not_stop_the_others(registry, repo_name, tmp_path):
    good = [mm_images.push_image(registry, f"{repo_name}-ok-amd64", "v1", arch="amd64")]
    missing = [{"ref": f"{registry.host}/{repo_name}-none-amd64:v1"}]
    a = spec(tmp_path, registry, "good", f"{repo_name}-ok:v1", good)
    b = spec(tmp_path, registry, "bad", f"{repo_name}-bad:v1", missing)
    r = run_cli("push", "from-spec", a, b, "--wait-timeout", "0")
    assert r.code == 1
    assert r.err_lines[-1].startswith(f"multiarch-manifest: error: 1 of 2 pushes failed: "
                                      f"{registry.host}/{repo_name}-bad:v1: ")
    assert mm_images.list_tags(registry, f"{repo_name}-ok") == ["v1"]
    assert mm_images.list_tags(registry, f"{repo_name}-bad") == []


def test_batch_input_errors_push_nothing(registry, repo_name, tmp_path):
    img = [mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")]
    a = spec(tmp_path, registry, "a", f"{repo_name}:v1", img)
    b = spec(tmp_path, registry, "b", f"{repo_name}:v1", img)
    broken = tmp_path / "broken.yaml"
    broken.write_text("image: x\nmanifests: [\n")
    for args, needle in ([a, b], "two spec files push"), ([a, str(broken)], "broken.yaml:"), \
            ([a, a], "given twice"), ([a, b, "--target", f"{registry.host}/x:1"], "--target goes with one"):
        r = run_cli("push", "from-spec", *args)
        assert r.code == 2 and len(r.err_lines) == 1 and needle in r.err, (args, r.err)
    assert mm_images.list_tags(registry, repo_name) == []
