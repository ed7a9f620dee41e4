"""SHACL shapes of a valid poems-kg dataset and the validation gate."""
