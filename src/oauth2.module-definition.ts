import { ConfigurableModuleBuilder } from '@nestjs/common';
import { OAUTH2_MODULE_OPTIONS } from './oauth2.constants.js';
import type { OAuth2ModuleExtras, OAuth2ModuleOptions } from './oauth2-options.interface.js';

export const {
  ConfigurableModuleClass: ConfigurableOAuth2Module,
  OPTIONS_TYPE: OAUTH2_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: OAUTH2_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<OAuth2ModuleOptions>({
  optionsInjectionToken: OAUTH2_MODULE_OPTIONS,
  moduleName: 'OAuth2',
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createOAuth2Options')
  .setExtras<OAuth2ModuleExtras>({}, (definition) => definition)
  .build();
