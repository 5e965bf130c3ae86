"""Hydra finds the config groups of DisguisedNets plugins (docs/plugins.md): every installed package that
declares an entry point in the group ``disguisednets.configs`` (``name = "its_package.conf"``) has that
package put on Hydra's config search path, so ``mechanism=<theirs>`` and ``attack=<theirs>`` compose."""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class DisguisedNetsPluginConfigs(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        from disguisednets.plugins import config_packages

        for path in config_packages():
            search_path.append(provider="disguisednets-plugin", path=path)
