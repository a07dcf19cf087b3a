"""The Python user's guide (python-bindings/README.md) is runnable: its ``python`` blocks run,
in order, as one script in a fresh process (``py`` blocks are shown only)."""
import os
import re
import subprocess
import sys

from conftest import BINDINGS, python_env


def guide_script():
    with open(os.path.join(BINDINGS, "README.md")) as f:
        text = f.read()
    blocks = re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)
    assert len(blocks) >= 6, "the guide lost its runnable snippets"
    # lakestream.produce's example runs in test_produce.py, on a temporary stream and twice (it resumes)
    return "\n".join(b for b in blocks if "lakestream.produce(" not in b)


def test_the_guides_snippets_run(tmp_path):
    script = tmp_path / "guide.py"
    script.write_text(guide_script())
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=python_env(), capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "read to its end (step 12)" in r.stdout and "below the retention floor 5" in r.stdout, r.stdout
    assert "cannot register consumer 'late' at step 0" in r.stdout and "the lowest step still readable is 5" in r.stdout, \
        r.stdout
