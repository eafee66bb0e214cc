"""Parameter injection before nbgrader executes a notebook, and the grading kernels' client (mlpcourse.grading)."""
import asyncio
import hashlib
import inspect
import re

from nbformat.v4 import new_code_cell, new_notebook

from mlpcourse.course import COURSE_ROOT
from mlpcourse.grading import InjectParameters, ReadyClient, inject_parameters


def _nb(tag=True):
    params = new_code_cell("max_steps = 200000", metadata={
        "nbgrader": {"grade_id": "parameters", "locked": True, "solution": False, "grade": False,
                     "schema_version": 3, "task": False}})
    if tag:
        params.metadata["tags"] = ["parameters"]
    return new_notebook(cells=[new_code_cell("import torch"), params, new_code_cell("print(max_steps)")],
                        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "P"}})


def test_injected_after_the_parameters_cell():
    nb = inject_parameters(_nb(), {"max_steps": 100})
    assert "injected-parameters" in nb.cells[2].metadata["tags"]
    assert "max_steps = 100" in nb.cells[2].source


def test_found_by_grade_id_when_the_tag_was_removed():
    nb = inject_parameters(_nb(tag=False), {"max_steps": 100})
    assert nb.cells[1].metadata["nbgrader"]["grade_id"] == "parameters"
    assert "max_steps = 100" in nb.cells[2].source


def test_a_students_injected_cell_is_dropped():
    nb = _nb()
    nb.cells.insert(0, new_code_cell("max_steps = 0", metadata={"tags": ["injected-parameters"]}))
    nb = inject_parameters(nb, {"max_steps": 100})
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "max_steps = 100" in injected[0].source


def test_preprocessor_uses_the_notebooks_own_parameters():
    pp = InjectParameters(parameters={"03_training": {"max_steps": 100}})
    nb, _ = pp.preprocess(_nb(), {"nbgrader": {"notebook": "03_training"}})
    assert len(nb.cells) == 4
    nb, _ = pp.preprocess(_nb(), {"nbgrader": {"notebook": "01_dataset"}})
    assert len(nb.cells) == 3


# sha256 of jupyter_client 8.10.0's KernelClient._async_wait_for_ready, the method ReadyClient was
# written against and replaces (reviewed when the pin was set; see ReadyClient's docstring)
REVIEWED_WAIT_FOR_READY = "0d732ad86fea311502a6bfc53d8b1be6055f3813ec4f13ef717f8adbbd37ec56"


def test_ready_client_replaces_the_method_it_was_written_against():
    import jupyter_client
    from jupyter_client.client import KernelClient

    pin = re.search(r"^jupyter_client==(\S+)", (COURSE_ROOT / "requirements.txt").read_text(), re.M)
    assert pin, "requirements.txt must pin jupyter_client: ReadyClient replaces one of its private methods"
    assert jupyter_client.__version__ == pin[1], (
        f"jupyter_client {jupyter_client.__version__} is installed, requirements.txt pins {pin[1]}")
    upstream = hashlib.sha256(inspect.getsource(KernelClient._async_wait_for_ready).encode()).hexdigest()
    assert upstream == REVIEWED_WAIT_FOR_READY, (
        "jupyter_client's KernelClient._async_wait_for_ready changed: compare it with "
        "mlpcourse.grading.ReadyClient, update the override, then REVIEWED_WAIT_FOR_READY")
    # the override is what nbclient calls (kc.wait_for_ready), not only the private name
    assert ReadyClient.wait_for_ready is ReadyClient._async_wait_for_ready is not KernelClient._async_wait_for_ready


def test_ready_client_starts_a_kernel_and_runs_code():
    from jupyter_client.manager import AsyncKernelManager

    async def run():
        km = AsyncKernelManager(kernel_name="python3", client_class="mlpcourse.grading.ReadyClient")
        await km.start_kernel()
        try:
            kc = km.client()
            assert isinstance(kc, ReadyClient)
            kc.start_channels()
            await kc.wait_for_ready(timeout=60)
            msg_id = kc.execute("print(6 * 7)")
            outputs = []
            while True:
                msg = await kc.get_iopub_msg(timeout=30)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "stream":
                    outputs.append(msg["content"]["text"])
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    break
            kc.stop_channels()
            return "".join(outputs)
        finally:
            await km.shutdown_kernel(now=True)

    assert asyncio.run(run()) == "42\n"


def test_the_grading_folder_is_each_users_own(tmp_path, monkeypatch):
    """Each Unix user grades in a scratch folder of their own (an instructor on the course's JupyterHub
    is not root), mode 0700; one that is a link or open to others is refused, not used."""
    import os
    import stat

    import pytest

    from mlpcourse.grade_notebook import grading_base, grading_folder

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    base = grading_base()
    assert base == grading_folder(os.getuid()) and base.parent == tmp_path and str(os.getuid()) in base.name
    assert stat.S_IMODE(base.stat().st_mode) == 0o700
    base.chmod(0o755)  # as if another had made it, or opened it
    with pytest.raises(PermissionError, match="not this user's private folder"):
        grading_base()
    base.rmdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    base.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(PermissionError, match="not this user's private folder"):
        grading_base()
