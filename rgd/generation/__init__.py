"""Routing with Generated Data: subject descriptions, the generation prompt and format, and the generator loop."""

from rgd.data.subjects import SubjectSet, SubjectSpec, builtin_subject_sets, load_subjects
from rgd.generation.format import ParseResult, parse_generation, render_question_block
from rgd.generation.generate import GenerationReport, generate_questions
from rgd.generation.prompt import PROMPT_VERSION, build_generation_prompt, read_generation_request

__all__ = [
    "PROMPT_VERSION",
    "GenerationReport",
    "ParseResult",
    "SubjectSet",
    "SubjectSpec",
    "build_generation_prompt",
    "builtin_subject_sets",
    "generate_questions",
    "load_subjects",
    "parse_generation",
    "read_generation_request",
    "render_question_block",
]
