"""A small reader of deploy/Dockerfile: its stages and their instructions,
enough for the tests to check what the image would contain without a
Docker engine."""

import re
import shlex


class Stage:
    """One FROM ... stage: its base image, name and instructions."""

    def __init__(self, base, name):
        self.base = base
        self.name = name
        self.instructions = []  # (INSTRUCTION, arguments text)

    def args(self, instruction):
        return [text for kind, text in self.instructions if kind == instruction]

    def copies(self):
        """(from stage or None, [sources], destination) of each COPY."""
        result = []
        for text in self.args("COPY"):
            words = shlex.split(text)
            options = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            source_stage = next((o.split("=", 1)[1] for o in options
                                 if o.startswith("--from=")), None)
            result.append((source_stage, paths[:-1], paths[-1]))
        return result

    def apt_installed(self):
        """The packages `apt-get install` installs in this stage's RUNs."""
        packages = []
        for text in self.args("RUN"):
            for command in re.split(r"&&|;", text):
                words = command.split()
                if "apt-get" in words and "install" in words:
                    after = words[words.index("install") + 1:]
                    packages += [w for w in after if not w.startswith("-")]
        return packages


def parse(text):
    """The stages of a Dockerfile's text, in order."""
    logical, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):  # comments, also inside a RUN
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    stages = []
    for line in logical:
        kind, _, rest = line.partition(" ")
        kind = kind.upper()
        if kind == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif stages:
            stages[-1].instructions.append((kind, rest.strip()))
    return stages
