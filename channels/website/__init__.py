"""The website channel (static disclosure column or CMS push); see :mod:`.channel`.

Kept free of imports: listing the plug-ins imports :mod:`.plugin`, and with it this
package, and nothing more.
"""
