"""ml-milestones: Copier templates that start each milestone project of an AI/ML roadmap."""

__version__ = "0.5.0"
