"""Image files in and out for the data owner's command line (the I/O edge of the project)."""

from disguisednets.imagefiles.inputs import IMAGE_SUFFIXES, MANIFEST, ImageSource, InputError, class_names, open_source
from disguisednets.imagefiles.outputs import OutputWriter, check_output_path, open_output

__all__ = ["IMAGE_SUFFIXES", "MANIFEST", "ImageSource", "InputError", "OutputWriter", "check_output_path",
           "class_names", "open_output", "open_source"]
