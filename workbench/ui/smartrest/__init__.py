"""SmartREST 2.0 custom templates in the GUI: the template editor, its live check, the collections a console knows."""
